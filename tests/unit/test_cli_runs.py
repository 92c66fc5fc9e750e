"""``raymaker runs show``: a run's state, attempts, checkpoint and the health rules that fired,
read back from its run log after in-process training runs (real torch, MLflow file store)."""

from __future__ import annotations

import json

import pytest

from ray_apps.cli import main
from ray_apps.errors import StoppedByRule
from ray_apps.training import run_training


def _cli(capsys, *argv):
    code = 0
    try:
        main(list(argv))
    except SystemExit as exited:
        code = exited.code
    out = capsys.readouterr()
    return code, out.out, out.err


def _job(tmp_path, name, lr, health):
    return {
        "name": name,
        "dataset": {"source": "sklearn:diabetes"},
        "model": {"kind": "torch", "params": {"hidden_sizes": [32]}},
        "hyperparameters": {"epochs": 3, "batch_size": 64, "lr": lr, "optimizer": "sgd"},
        "scaling": {"num_workers": 1},
        "checkpoint": {"every": 1, "keep": 1},
        "storage": str(tmp_path / "runs"),
        "health": health,
    }


def test_runs_show_says_which_rules_fired_and_why_a_run_stopped(tmp_path, capsys):
    flat = {"rules": [{"name": "loss_not_decreasing", "num_steps": 1, "diff_percent": 99}]}
    done = run_training(_job(tmp_path, "tagged", 0.01, flat))
    with pytest.raises(StoppedByRule) as stopped:
        run_training(_job(tmp_path, "stops", 5.0, {"rules": ["nonfinite"], "actions": ["stop"]}))
    capsys.readouterr()
    storage = str(tmp_path / "runs")

    code, out, err = _cli(capsys, "runs", "show", done.run_name, "--storage", storage)
    assert code == 0, err
    assert "state:      finished" in out and "loss_not_decreasing" in out and "tag" in out

    code, out, err = _cli(capsys, "runs", "show", stopped.value.run, "--storage", storage, "--json")
    assert code == 0, err
    shown = json.loads(out)
    assert shown["state"] == "stopped_by_rule" and shown["epochs_done"] == stopped.value.epoch
    assert [f["rule"] for f in shown["health"]] == ["nonfinite"]

    code, _, err = _cli(capsys, "runs", "show", "no-such-run", "--storage", storage)
    assert code == 2 and "no-such-run" in err
