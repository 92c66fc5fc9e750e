"""The CLI prints one line and exits 2 on bad input (run as a real subprocess)."""

import subprocess
import sys


def run(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "ray_apps.cli", *args], capture_output=True, text=True, cwd=cwd
    )


def test_bad_spec_exits_2_with_the_field(tmp_path):
    bad = tmp_path / "job.yaml"
    bad.write_text(
        "name: x\ndataset: {source: sklearn:iris}\nmodel: {kind: torch}\n"
        "hyperparameters: {epochs: 0}\n"
    )
    out = run("train", "--config", str(bad))
    assert out.returncode == 2
    assert "hyperparameters.epochs" in out.stderr
    assert "Traceback" not in out.stderr


def test_missing_config_unknown_run_and_usage_errors_exit_2(tmp_path):
    assert run("train", "--config", str(tmp_path / "no.yaml")).returncode == 2
    unknown = run("train", "--resume", "no-such-run", "--storage", str(tmp_path))
    assert unknown.returncode == 2 and "no run 'no-such-run'" in unknown.stderr
    assert run("train", "--bogus").returncode == 2
    assert run("train").returncode == 2


def test_python_m_entry_point_is_the_same_command(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "ray_apps.train", "--config", str(tmp_path / "no.yaml")],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 2 and "does not exist" in out.stderr


def test_tune_bad_spec_exits_2(tmp_path):
    bad = tmp_path / "tune.yaml"
    bad.write_text(
        "name: t\ntrain: {name: x, dataset: {source: sklearn:iris}, model: {kind: torch},"
        " hyperparameters: {epochs: 2}}\nobjective: {metric: val_loss, mode: min}\n"
        "search_space: {hyperparameters.lr: {type: uniform, low: 0.1, high: 0.5}}\n"
        "strategy: {searcher: grid}\n"
    )
    out = run("tune", "--config", str(bad))
    assert out.returncode == 2 and "searcher grid visits listed values only" in out.stderr
    assert run("tune").returncode == 2
