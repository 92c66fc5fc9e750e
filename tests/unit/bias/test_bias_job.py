"""``run_bias`` and ``raymaker bias`` end to end on a real XGBoost artifact (no Ray)."""

import json
from pathlib import Path

import pandas as pd
import pytest
from _monitor_data import artifact_and_window, write

from ray_apps.artifact import load_model
from ray_apps.bias import run_bias
from ray_apps.cli import main


@pytest.fixture(scope="module")
def cancer(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bias")
    art, held_out, _ = artifact_and_window(folder, labels=True)
    held_out["site"] = ["north" if i % 3 else "south" for i in range(len(held_out))]
    return {
        "art": str(art),
        "rows": held_out,
        "data": write(held_out, folder / "test.parquet"),
        "out": str(folder / "reports"),
    }


def run(capsys, *argv):
    code = 0
    try:
        main(["bias", *argv])
    except SystemExit as exited:
        code = exited.code
    out = capsys.readouterr()
    return code, out.out, out.err


def test_run_bias_on_a_real_model_writes_json_and_html(cancer):
    result = run_bias(
        {
            "model": "cancer:1",
            "artifact": cancer["art"],
            "data": {"dataset": cancer["data"]},
            "sensitive": "mean_radius",
            "bins": [14],
            "output": cancer["out"],
        }
    )
    folder = Path(result.report_dir)
    assert folder.parent.parent.name == "version=1"
    assert folder.name == "sensitive=mean_radius"
    saved = json.loads((folder / "bias.json").read_text())
    assert "<table>" in (folder / "bias.html").read_text()
    # The counts and rates, recomputed here from the model's own predictions with pandas.
    rows = cancer["rows"]
    model = load_model(cancer["art"])
    pred = pd.Series(model.predict(rows[model.info.feature_names])).astype(int) == 1
    small = rows["mean_radius"] < 14
    assert saved["positive_label"] == "1" and saved["rows"] == len(rows)
    assert [g["facet"] for g in saved["groups"]] == ["< 14", ">= 14"]
    g = saved["groups"][0]
    assert g["counts"]["rows"] == int(small.sum())
    assert g["counts"]["predicted_positive"] == int(pred[small].sum())
    assert g["counts"]["labelled_positive"] == int((rows["target"][small] == 1).sum())
    q_d, q_a = pred[small].mean(), pred[~small].mean()
    assert g["metrics"]["DI"] == pytest.approx(q_d / q_a)
    assert g["metrics"]["DPPL"] == pytest.approx(q_a - q_d)
    tp_d = int((pred & (rows["target"] == 1))[small].sum())
    assert g["counts"]["tp"] == tp_d
    assert set(g["metrics"]) == {"CI", "DPL", "DI", "DPPL", "AD", "RD", "SD", "FPRD", "FNRD"}


def test_cli_prints_a_table_per_group(capsys, cancer):
    code, out, err = run(
        capsys, "cancer:1", "--artifact", cancer["art"], "--dataset", cancer["data"],
        "--sensitive", "site", "--positive-label", "1", "--output", cancer["out"], "--no-html",
    )  # fmt: skip
    assert code == 0, err
    assert "each group vs the rest" in out
    lines = out.splitlines()
    assert lines[1].split()[:3] == ["group", "rows", "CI"]
    assert [line.split()[0] for line in lines[2:4]] == ["north", "south"]  # largest first
    assert f"[raymaker] report {cancer['out']}/model=cancer/version=1/window=" in out


def test_bad_input_exits_2_naming_the_field(capsys, tmp_path, cancer):
    base = ["cancer:1", "--artifact", cancer["art"], "--dataset", cancer["data"]]
    code, _, err = run(capsys, *base, "--sensitive", "mean_radius", "--bins", "20,14")
    assert code == 2
    assert err.strip() == (
        "error: raymaker bias: bins: bin edges must be strictly increasing, e.g. [30, 50] "
        "(got [20.0, 14.0])"
    )
    code, _, err = run(capsys, *base, "--sensitive", "site", "--positive-label", "yes")
    assert code == 2
    assert "positive_label: 'yes' is no class of model cancer:1; allowed: ['0', '1']" in err
    code, _, err = run(capsys, *base, "--sensitive", "nope")
    assert code == 2 and "sensitive column 'nope' is not in the data" in err
    code, _, err = run(capsys, *base, "--sensitive", "mean_radius")
    assert code == 2 and "give bins, e.g. bins: [" in err
    f = tmp_path / "b.yaml"
    f.write_text("model: cancer:1\nsensitive: site\nmax_groups: 1\n")
    code, _, err = run(capsys, "--config", str(f))
    assert code == 2
    assert err.strip() == (
        f"error: {f}: max_groups: Input should be greater than or equal to 2 (got 1)"
    )
