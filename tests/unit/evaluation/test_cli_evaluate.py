"""``raymaker evaluate``: exit 0 when the gate passes, 3 when it fails, 2 on bad input."""

import pytest
from _factories import xgboost_artifact

from ray_apps import registry
from ray_apps.cli import main


def run(capsys, *argv):
    code = 0
    try:
        main(["evaluate", *argv])
    except SystemExit as exited:
        code = exited.code
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture(scope="module")
def art(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli-eval")
    return str(xgboost_artifact(folder / "a", source="sklearn:breast_cancer", rounds=20))


def test_exit_codes_pass_and_gate_failed(capsys, tmp_path, art):
    base = ["--artifact", art, "--data", "sklearn:breast_cancer", "--output", str(tmp_path)]
    code, out, _ = run(capsys, *base, "--min", "accuracy=0.8", "--slice", "mean_radius")
    assert code == 0, out
    assert "; gate passed" in out and "worst slice mean_radius=" in out
    assert f"[raymaker] report {tmp_path}/artifact=a-" in out
    code, out, _ = run(capsys, *base, "--min", "accuracy=0.999", "--max", "log_loss=0.001")
    assert code == 3
    assert "gate FAILED (2 reasons)" in out and "[raymaker] gate: log_loss " in out


def test_register_gated_from_the_cli(capsys, tmp_path, art, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'm.db'}")
    argv = ["--artifact", art, "--data", "sklearn:breast_cancer", "--register", "cancer"]
    code, out, _ = run(capsys, *argv, "--min", "accuracy=0.999")
    assert code == 3 and "[raymaker] registered cancer:1 (Rejected)" in out
    code, out, _ = run(capsys, *argv)
    assert code == 0 and "[raymaker] registered cancer:2 (Pending)" in out
    assert [v.status for v in registry.list_versions("cancer")] == ["Rejected", "Pending"]


def test_bad_input_exits_2_naming_the_field(capsys, tmp_path, art):
    f = tmp_path / "e.yaml"
    f.write_text("thresholds: {max_invariance_change_rate: 2}\n")
    code, _, err = run(capsys, "--config", str(f), "--artifact", art, "--data", "t.csv")
    assert code == 2
    assert err.strip() == (
        f"error: {f}: thresholds.max_invariance_change_rate: Input should be less than or "
        "equal to 1 (got 2)"
    )
    code, _, err = run(capsys, "--artifact", art, "--data", "sklearn:breast_cancer", "--min", "x")
    assert code == 2 and "--min 'x': write metric=value" in err
    code, _, err = run(capsys, "--artifact", art, "--data", "/nope.csv")
    assert code == 2 and "data.source '/nope.csv' does not exist" in err
    code, _, err = run(capsys, "--artifact", art)
    assert code == 2 and "--data" in err
