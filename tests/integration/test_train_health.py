"""Health rules on a Ray Train worker group (2 workers, DDP and XGBoost): every rank judges the
same all-reduced numbers, so a stop ends every rank at the same epoch, the V2 run ends cleanly
with the last good checkpoint, the driver raises ``StoppedByRule``; a tag rule fires once on a
distributed XGBoost run that finishes."""

from __future__ import annotations

import math

import pytest
from _webhook import Hook

from ray_apps.errors import StoppedByRule
from ray_apps.training import run_training
from ray_apps.training.run_log import RunLog
from ray_apps.webhook import SIGNATURE_HEADER, verify_signature


def _job(tmp_path, name: str, **extra) -> dict:
    job = {
        "name": name,
        "dataset": {"source": "sklearn:diabetes"},
        "model": {"kind": "torch", "params": {"hidden_sizes": [32]}},
        "hyperparameters": {"epochs": 6, "batch_size": 32, "lr": 1.0, "optimizer": "sgd"},
        "scaling": {"num_workers": 2, "mode": "distributed"},
        "checkpoint": {"every": 1, "keep": 2},
        "storage": str(tmp_path / "runs"),
    }
    job.update(extra)
    return job


def test_ddp_stops_every_rank_at_the_first_nonfinite_epoch_and_resumes_fixed(
    ray_session, tmp_path, capsys
):
    health = {"rules": ["nonfinite"], "actions": ["stop"], "every_steps": 2}
    with pytest.raises(StoppedByRule) as stopped:
        run_training(_job(tmp_path, "ddp-diverges", health=health))
    err = stopped.value
    run_dir = str(tmp_path / "runs" / err.run)
    log = RunLog(run_dir)
    history = log.history()
    # SGD at lr 1.0 on this MLP overflows within epoch 1 on every rank's shard (0.4 trains).
    bad = next(
        h["epoch"]
        for h in history
        if not (math.isfinite(h["train_loss"]) and math.isfinite(h["val_loss"]))
    )
    kept = bad - 1 or None
    assert (err.rule, err.epoch, err.checkpoint_epoch) == ("nonfinite", bad, kept)
    assert history[-1]["epoch"] == bad and log.state()["state"] == "stopped_by_rule"
    last = log.last_checkpoint()
    assert (last and last["epoch"]) == kept  # the non-finite epoch wrote no checkpoint
    assert not (tmp_path / "runs" / err.run / "artifact").exists()
    out = capsys.readouterr().out + capsys.readouterr().err
    assert f"health: nonfinite fired at epoch {bad}" in out
    assert "Traceback" not in out

    fixed = _job(tmp_path, "ddp-diverges", health=health)
    fixed["hyperparameters"] = {**fixed["hyperparameters"], "lr": 0.01}
    result = run_training(fixed, resume=err.run, storage=str(tmp_path / "runs"))
    assert result.attempts[-1]["start_epoch"] == (kept or 0) + 1
    assert [h["epoch"] for h in result.history][-1] == 6
    assert all(math.isfinite(h["train_loss"]) for h in result.history if h["epoch"] >= bad)


def test_distributed_xgboost_tags_overtraining_once_and_finishes(ray_session, tmp_path):
    job = {
        "name": "xgb-overtrains",
        "dataset": {"source": "sklearn:breast_cancer"},
        "model": {"kind": "xgboost"},
        "hyperparameters": {"rounds": 40, "params": {"max_depth": 6, "eta": 0.9}},
        "scaling": {"num_workers": 2, "mode": "distributed"},
        "checkpoint": {"every": 20, "keep": 1},
        "storage": str(tmp_path / "runs"),
        "health": {
            "rules": [{"name": "overtraining", "patience_validation": 5}],
            "actions": ["tag"],
        },
    }
    result = run_training(job)
    assert [h["epoch"] for h in result.history][-1] == 40
    fired = RunLog(result.run_dir).health_findings()
    assert [f["rule"] for f in fired] == ["overtraining"], fired


def test_an_alert_from_a_worker_reaches_the_webhook_signed(ray_session, tmp_path, monkeypatch):
    """Rank 0 alerts from its worker, which was started before these variables were set (as
    on a cluster, where workers never see the driver's environment): the run hands them on."""
    hook = Hook([])
    try:
        monkeypatch.setenv("RM_HEALTH_HOOK", hook.url)
        monkeypatch.setenv("RM_HEALTH_SECRET", "shh")
        job = _job(
            tmp_path,
            "ddp-alerts",
            hyperparameters={"epochs": 3, "batch_size": 32, "lr": 0.01, "optimizer": "sgd"},
            health={
                "rules": [{"name": "loss_not_decreasing", "num_steps": 1, "diff_percent": 99}],
                "actions": ["alert"],
                "webhook": {"url_env": "RM_HEALTH_HOOK", "secret_env": "RM_HEALTH_SECRET"},
            },
        )
        result = run_training(job)
    finally:
        hook.close()
    assert len(hook.raw) == 1, hook.received  # once per run, not per epoch or per rank
    headers, body = hook.raw[0]
    assert verify_signature(b"shh", headers[SIGNATURE_HEADER], body)
    assert hook.received[0][1]["run"] == result.run_name
