"""``raymaker monitor`` one-shot: one exit code per outcome, for cron."""

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
