"""Health rules on a Ray Train worker group (2 workers, DDP and XGBoost): every rank judges the
same all-reduced numbers, so a stop ends every rank at the same epoch, the V2 run ends cleanly
with the last good checkpoint, the driver raises ``StoppedByRule``; a tag rule fires once on a
distributed XGBoost run that finishes."""

from __future__ import annotations

import math
import time

import pytest
from _webhook import Hook
from mlflow.tracking import MlflowClient

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
            "rules": [{"name": "overtraining", "patience_validation": 5}, "overfit"],
            "actions": ["tag"],
        },
    }
    result = run_training(job)
    assert [h["epoch"] for h in result.history][-1] == 40
    fired = RunLog(result.run_dir).health_findings()
    # Deep trees at eta 0.9 memorise the training rows: the validation loss rises past its best
    # while the training loss falls to ~0 (overfit), and stops improving (overtraining).
    assert sorted(f["rule"] for f in fired) == ["overfit", "overtraining"], fired
    tags = MlflowClient(result.tracking_uri).get_run(result.mlflow_run_id).data.tags
    for f in fired:
        assert tags[f"health.{f['rule']}"].startswith(f"round {f['epoch']}: ")


def test_an_alert_from_a_worker_reaches_the_webhook_signed_and_a_slow_rank_straggles(
    ray_session, tmp_path, monkeypatch
):
    """Rank 0 alerts from its worker, which was started before these variables were set (as
    on a cluster, where workers never see the driver's environment): the run hands them on.
    Rank 1 sleeps 20 ms before each step (the ``slow`` drill): its own time (forward and
    optimizer step; backward waits for the slowest rank on both) is many times rank 0's, so
    ``straggler`` tags it, naming rank 1."""
    hook = Hook([])
    try:
        monkeypatch.setenv("RM_HEALTH_HOOK", hook.url)
        monkeypatch.setenv("RM_HEALTH_SECRET", "shh")
        job = _job(
            tmp_path,
            "ddp-alerts",
            hyperparameters={"epochs": 3, "batch_size": 32, "lr": 0.01, "optimizer": "sgd"},
            health={
                "rules": [
                    {"name": "loss_not_decreasing", "num_steps": 1, "diff_percent": 99},
                    {"name": "straggler", "patience": 2, "actions": ["tag"]},
                ],
                "actions": ["alert"],
                "webhook": {"url_env": "RM_HEALTH_HOOK", "secret_env": "RM_HEALTH_SECRET"},
            },
            failure={"inject": {"mode": "slow", "rank": 1, "at_epoch": 1, "delay_s": 0.02}},
        )
        result = run_training(job)
    finally:
        hook.close()
    history = RunLog(result.run_dir).history()
    assert all(h["rank1_step_time_s"] > 2 * h["rank0_step_time_s"] for h in history), history
    fired = {f["rule"]: f for f in RunLog(result.run_dir).health_findings()}
    assert fired["straggler"]["epoch"] == 2 and "rank 1 took" in fired["straggler"]["message"]
    assert len(hook.raw) == 1, hook.received  # once per run, not per epoch or per rank
    headers, body = hook.raw[0]
    assert verify_signature(b"shh", headers[SIGNATURE_HEADER], body)
    assert hook.received[0][1]["run"] == result.run_name


def test_a_hung_rank_stalls_the_run_and_stalled_stops_every_rank(ray_session, tmp_path):
    """Rank 1 sleeps 120 s at the start of epoch 3 (the ``hang`` drill); rank 0 waits for it in
    the first all-reduce, so neither reports. Rank 0's clock thread fires ``stalled`` after
    3 s and ends rank 0; Ray Train restarts the group, whose ranks find the run stopped and end:
    the driver raises StoppedByRule long before the sleep is over, epoch 2's checkpoint kept."""
    job = _job(
        tmp_path,
        "ddp-hangs",
        hyperparameters={"epochs": 4, "batch_size": 32, "lr": 0.01, "optimizer": "sgd"},
        health={"rules": [{"name": "stalled", "threshold_s": 3}], "actions": ["stop", "tag"]},
        failure={"inject": {"mode": "hang", "rank": 1, "at_epoch": 3, "delay_s": 120}},
    )
    began = time.monotonic()
    with pytest.raises(StoppedByRule) as stopped:
        run_training(job)
    waited = time.monotonic() - began
    assert waited < 90, f"the run waited out the hang ({waited:.0f} s)"
    err = stopped.value
    assert (err.rule, err.epoch, err.checkpoint_epoch) == ("stalled", 2, 2)
    log = RunLog(str(tmp_path / "runs" / err.run))
    assert [h["epoch"] for h in log.history()] == [1, 2]
    assert log.state()["rule"] == "stalled"
    (finding,) = log.health_findings()  # rank 0's worker printed it; Ray's log has the line
    assert finding["message"].startswith("no new evaluation for")
    print(f"hung rank stopped by stalled after {waited:.1f} s")
