"""``raymaker monitor`` one-shot: one exit code per outcome, for cron."""

import signal
import subprocess
import sys

import pytest
from _monitor_data import artifact_and_window, shifted, write

from ray_apps.cli import main


def run(capsys, *argv):
    """(exit code, stdout, stderr) of ``raymaker monitor *argv``, run in this process."""
    code = 0  # main returns on success
    try:
        main(["monitor", *argv])
    except SystemExit as exited:
        code = exited.code
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture(scope="module")
def cancer(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli")
    art, held_out, std = artifact_and_window(folder)
    return {
        "art": str(art),
        "clean": write(held_out, folder / "clean.parquet"),
        "moved": write(shifted(held_out, std, 1.0), folder / "moved.parquet"),
        "few": write(held_out.head(5), folder / "few.parquet"),
        "out": str(folder / "reports"),
    }


def test_exit_codes_ok_violation_too_few_rows(capsys, cancer):
    base = ["cancer:1", "--artifact", cancer["art"], "--output", cancer["out"], "--no-html"]
    code, out, _ = run(capsys, *base, "--dataset", cancer["moved"])
    assert code == 3
    assert "[raymaker] violation: 'mean_radius' drifted: ks p-value" in out
    assert f"[raymaker] report {cancer['out']}/model=cancer/version=1/window=" in out
    code, out, _ = run(capsys, *base, "--dataset", cancer["clean"])
    assert code == 0
    assert ": ok (170 rows" in out
    code, out, _ = run(capsys, *base, "--dataset", cancer["few"])
    assert code == 4 and "5 rows, too few to judge" in out


def test_bad_input_exits_2_naming_the_field(capsys, tmp_path, cancer):
    f = tmp_path / "m.yaml"
    f.write_text("model: cancer:1\nthresholds: {drifted_share: 2}\n")
    code, _, err = run(capsys, "--config", str(f), "--dataset", cancer["clean"])
    assert code == 2
    assert err.strip() == (
        f"error: {f}: thresholds.drifted_share: Input should be less than or equal to 1 (got 2)"
    )
    code, _, err = run(capsys, "cancer:1", "--last", "1h", "--since", "2026-11-24T10:00")
    assert code == 2 and "--last ends the window now" in err
    code, _, err = run(capsys, "cancer:1", "--artifact", cancer["art"], "--dataset", "/nope.csv")
    assert code == 2 and "current.dataset '/nope.csv' does not exist" in err


def test_python_m_entry_point_has_the_same_codes():
    done = subprocess.run(
        [sys.executable, "-m", "ray_apps.monitoring", "cancer:x"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2 and "positive integer" in done.stderr


def test_every_runs_until_sigterm_checking_each_closed_window_once(cancer, tmp_path):
    """``python -m ray_apps.monitoring … --every 2s`` as ``ray job submit`` runs it: windows
    of 2 s on the wall clock, each checked once as it closes, and SIGTERM ends it with 0."""
    from datetime import UTC, datetime

    from _monitor_data import capture

    from ray_apps import load_model

    root, out = tmp_path / "capture", tmp_path / "reports"
    capture(root, load_model(cancer["art"]), read(cancer["clean"]).head(3), datetime.now(UTC), "a")
    argv = [sys.executable, "-m", "ray_apps.monitoring", "cancer:1", "--artifact", cancer["art"]]
    argv += ["--capture", str(root), "--output", str(out), "--no-html"]
    proc = subprocess.Popen(
        [*argv, "--every", "2s", "--lateness", "0s"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        windows = poll(
            lambda: sorted(out.rglob("summary.json")),
            until=lambda w: len(w) >= 3 or proc.poll() is not None,
        )
    finally:
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, output
    names = sorted(p.parent.name for p in out.rglob("summary.json"))
    starts = [datetime.strptime(n.split("=")[1][:16], "%Y%m%dT%H%M%SZ") for n in names]
    gaps = [(b - a).total_seconds() for a, b in zip(starts, starts[1:], strict=False)]
    assert gaps == [2.0] * (len(starts) - 1), names  # consecutive, none repeated or skipped
    assert len(windows) >= 3 and "every 2s from" in output and "stopped after" in output
    assert "Traceback" not in output


def read(path):
    import pandas as pd

    return pd.read_parquet(path)


def poll(get, until, timeout=90.0):
    import time

    deadline = time.monotonic() + timeout
    while True:
        value = get()
        if until(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.2)


def test_a_violation_starts_the_on_alert_pipeline_once(capsys, cancer, tmp_path):
    """The closed loop's first link: a drifted window starts ``on_alert``'s pipeline in the
    background (here one of condition steps, which needs no Ray), keyed on the model."""
    import yaml
    from _serve_helpers import wait_for

    from pipelines.record import RunStore
    from ray_apps import settings

    pipeline = tmp_path / "retrain.yaml"
    gate = {"all": [{"left": "${parameters.reason}", "op": "==", "right": "drift"}]}
    pipeline.write_text(
        yaml.safe_dump(
            {
                "name": "on-alert",
                "parameters": {"reason": {"type": "str"}, "serving": {"type": "str"}},
                "steps": {"gate": {"kind": "condition", "with": gate}},
            }
        )
    )
    config = tmp_path / "monitor.yaml"
    on_alert = {
        "pipeline": str(pipeline),
        "parameters": {"reason": "drift", "serving": "${alert.model}"},
    }
    config.write_text(yaml.safe_dump({"model": "cancer:1", "on_alert": on_alert}))
    base = ["--config", str(config), "--artifact", cancer["art"], "--output", cancer["out"]]
    code, out, _ = run(capsys, *base, "--no-html", "--dataset", cancer["clean"])
    assert code == 0 and "on_alert" not in out  # no violation: nothing starts
    code, out, _ = run(capsys, *base, "--no-html", "--dataset", cancer["moved"])
    assert code == 3 and "[raymaker] on_alert: " in out, out
    store = RunStore(settings.storage_path())

    def finished():
        runs = [r for r in store.list_runs() if r.startswith("on-alert-")]
        return runs and store.load(runs[-1]).state == "succeeded" and runs

    runs = wait_for(finished, 60, "the alert's pipeline run to succeed")
    assert len(runs) == 1
    run_ = store.load(runs[0])
    assert run_.steps["gate"].outputs == {"passed": True}
    assert run_.parameters == {"reason": "drift", "serving": "cancer:1"}  # the alert's version
