"""Health rules on whole training runs in this process (real torch, XGBoost, MLflow file
store): a non-finite loss stops the run with its last good checkpoint kept and resumable, rules
tag a run that then finishes, an alert reaches a real webhook signed, bad names are refused."""

from __future__ import annotations

import math
import signal
import time
from pathlib import Path

import pytest
from _webhook import Hook
from mlflow.tracking import MlflowClient

from ray_apps import tracking
from ray_apps.errors import SpecError, StoppedByRule
from ray_apps.spec import TrainJobSpec, parse_spec
from ray_apps.training import run_training, saved_job
from ray_apps.training.run_log import RunLog
from ray_apps.webhook import SIGNATURE_HEADER, verify_signature

# SGD at this rate on the diabetes MLP diverges: the loss grows geometrically and turns
# non-finite in a later epoch (epoch 2 with this seed); 0.01 trains it.
DIVERGING_LR, FIXED_LR = 0.4, 0.01


def _job(tmp_path, name: str, **extra) -> dict:
    job = {
        "name": name,
        "dataset": {"source": "sklearn:diabetes"},
        "model": {"kind": "torch", "params": {"hidden_sizes": [32]}},
        "hyperparameters": {"epochs": 6, "batch_size": 64, "lr": FIXED_LR, "optimizer": "sgd"},
        "scaling": {"num_workers": 1},
        "checkpoint": {"every": 1, "keep": 2},
        "storage": str(tmp_path / "runs"),
    }
    for key, value in extra.items():
        job[key] = {**job.get(key, {}), **value} if isinstance(value, dict) else value
    return job


def _tags(run_dir: str) -> dict[str, str]:
    run_id = saved_job(run_dir)["mlflow_run_id"]
    run = MlflowClient(tracking_uri=tracking.resolve_uri(None)).get_run(run_id)
    return {**run.data.tags, "status": run.info.status}


def test_a_diverging_run_stops_at_the_first_nonfinite_epoch_and_resumes_when_fixed(
    tmp_path, capsys
):
    job = _job(
        tmp_path,
        "diverges",
        hyperparameters={"lr": DIVERGING_LR},
        health={"rules": ["nonfinite"], "actions": ["stop"], "every_steps": 2},
    )
    with pytest.raises(StoppedByRule) as stopped:
        run_training(parse_spec(TrainJobSpec, job))
    err = stopped.value
    run_dir = str(tmp_path / "runs" / err.run)
    log = RunLog(run_dir)
    history = log.history()
    bad = next(h["epoch"] for h in history if not math.isfinite(h["train_loss"]))
    assert bad >= 2, "the data and seed diverge after a finite first epoch"
    assert (err.rule, err.epoch, err.checkpoint_epoch) == ("nonfinite", bad, bad - 1)
    assert history[-1]["epoch"] == bad  # stopped right there
    assert history[-1]["nonfinite"] > 0 and not history[-1]["checkpointed"]
    assert log.state()["state"] == "stopped_by_rule"
    assert log.last_checkpoint()["epoch"] == bad - 1  # the NaN epoch wrote none
    assert not (tmp_path / "runs" / err.run / "artifact").exists()  # nothing packaged
    out = capsys.readouterr().out
    assert f"[raymaker] health: nonfinite fired at epoch {bad}: train_loss is" in out
    assert "→ stop" in out
    assert f"raymaker train --config <fixed.yaml> --resume {err.run}" in str(err)
    tags = _tags(run_dir)
    assert tags["raymaker.stopped_by_rule"].startswith(f"nonfinite at epoch {bad}")
    assert tags["status"] == "KILLED"

    # Resumed with the fixed rate: continues from the kept checkpoint to the end.
    fixed = {**job, "hyperparameters": {**job["hyperparameters"], "lr": FIXED_LR}}
    result = run_training(fixed, resume=err.run, storage=str(tmp_path / "runs"))
    assert [a["start_epoch"] for a in result.attempts] == [1, bad]
    assert [h["epoch"] for h in result.history] == list(range(1, 7))
    assert all(math.isfinite(h["train_loss"]) for h in result.history)
    assert result.load_model() is not None
    assert RunLog(run_dir).state() is None
    tags = _tags(run_dir)
    assert "raymaker.stopped_by_rule" not in tags and tags["status"] == "FINISHED"


def test_resuming_with_a_different_model_is_refused(tmp_path):
    job = _job(tmp_path, "short", hyperparameters={"epochs": 1})
    done = run_training(job)
    other = {**job, "model": {"kind": "torch", "params": {"hidden_sizes": [8]}}}
    with pytest.raises(SpecError, match="may not change model"):
        run_training(other, resume=done.run_name, storage=str(tmp_path / "runs"))


def test_overfit_and_a_flat_loss_are_tagged_and_the_run_finishes(tmp_path, capsys):
    job = _job(
        tmp_path,
        "overfits",
        dataset={"source": "sklearn:breast_cancer"},
        model={"kind": "torch", "params": {"hidden_sizes": [256]}},
        hyperparameters={"epochs": 12, "batch_size": 16, "lr": 0.01, "optimizer": "adam"},
        health={
            "rules": [
                {"name": "overfit", "patience": 2},
                {"name": "loss_not_decreasing", "num_steps": 2, "diff_percent": 90},
            ],
            "actions": ["tag"],
        },
    )
    result = run_training(job)
    assert [h["epoch"] for h in result.history] == list(range(1, 13))  # finished
    tags = _tags(result.run_dir)
    assert tags["status"] == "FINISHED"
    for rule in ("overfit", "loss_not_decreasing"):
        assert tags[f"health.{rule}"].startswith("epoch ")
    fired = RunLog(result.run_dir).health_findings()
    assert sorted(f["rule"] for f in fired) == ["loss_not_decreasing", "overfit"]  # once each
    out = capsys.readouterr().out
    assert "[raymaker] health: overfit fired at epoch" in out and "→ tag" in out
    last = result.history[-1]
    assert last["grad_norm"] > 0 and last["update_ratio"] > 0 and last["nonfinite"] == 0
    assert "gpu_utilization" not in last  # a CPU run: no GPU signal, not a 0 %


def test_an_xgboost_run_whose_validation_loss_stops_improving_is_overtraining(tmp_path):
    job = {
        "name": "boosts-on",
        "dataset": {"source": "sklearn:breast_cancer"},
        "model": {"kind": "xgboost"},
        "hyperparameters": {"rounds": 60, "params": {"max_depth": 6, "eta": 0.5}},
        "scaling": {"num_workers": 1},
        "checkpoint": {"every": 20},
        "storage": str(tmp_path / "runs"),
        # patience_train past the last round: only the validation loss is judged here.
        "health": {
            "rules": [
                {"name": "overtraining", "patience_train": 100, "delta": 0.001, "actions": ["tag"]}
            ]
        },
    }
    result = run_training(job)
    assert result.history[-1]["epoch"] == 60
    first = result.history[0]
    assert first["val_loss"] == first["valid_logloss"] and "train_loss" in first
    (found,) = RunLog(result.run_dir).health_findings()
    assert found["rule"] == "overtraining" and "val_loss has not improved" in found["message"]
    assert _tags(result.run_dir)["health.overtraining"] == f"round {found['epoch']}: " + (
        f"{found['value']:.6g}"
    )


def test_an_alert_reaches_the_webhook_signed(tmp_path, monkeypatch):
    hook = Hook([500])  # the first try fails: delivered on the retry
    try:
        monkeypatch.setenv("HEALTH_HOOK", hook.url)
        monkeypatch.setenv("HEALTH_SECRET", "shh")
        job = _job(
            tmp_path,
            "alerts",
            hyperparameters={"epochs": 3},
            health={
                "rules": [{"name": "loss_not_decreasing", "num_steps": 1, "diff_percent": 99}],
                "actions": ["alert"],
                "webhook": {
                    "url_env": "HEALTH_HOOK",
                    "secret_env": "HEALTH_SECRET",
                    "backoff_s": 0,
                },
            },
        )
        result = run_training(job)
    finally:
        hook.close()
    assert len(hook.raw) == 2  # one alert, retried once; not one per epoch
    headers, body = hook.raw[-1]
    assert verify_signature(b"shh", headers[SIGNATURE_HEADER], body)
    assert not verify_signature(b"other", headers[SIGNATURE_HEADER], body)
    _, payload = hook.received[-1]
    assert payload["rule"] == "loss_not_decreasing" and payload["run"] == result.run_name
    assert payload["kind"] == "training_health" and payload["epoch"] == 2
    (found,) = RunLog(result.run_dir).health_findings()
    assert found["alert"]["delivered"] and found["alert"]["attempts"] == 2


def test_an_alert_without_its_variable_fails_before_training(tmp_path, monkeypatch):
    monkeypatch.delenv("HEALTH_HOOK", raising=False)
    job = _job(
        tmp_path,
        "nohook",
        health={
            "rules": ["nonfinite"],
            "actions": ["alert"],
            "webhook": {"url_env": "HEALTH_HOOK"},
        },
    )
    with pytest.raises(SpecError, match="health.webhook.url_env: environment variable HEALTH_HOOK"):
        run_training(job)


@pytest.mark.parametrize(
    ("health", "named"),
    [
        (
            {"rules": ["overfitting"]},
            "health.rules: rules[0].name 'overfitting' is not a health rule",
        ),
        (
            {"rules": ["low_gpu_utilization"]},
            "health.rules: low_gpu_utilization watches the GPUs of a torch run",
        ),
        ({"rules": ["overfit"]}, None),  # a valid section, for the cases below
        ({"rules": [{"name": "overfit", "actions": ["alert"]}]}, "alerts need a webhook"),
    ],
)
def test_a_bad_health_section_is_refused_naming_the_field(tmp_path, health, named):
    if named is None:
        parse_spec(TrainJobSpec, _job(tmp_path, "good", health=health))
        return
    with pytest.raises(SpecError, match="health") as err:
        parse_spec(TrainJobSpec, _job(tmp_path, "bad", health=health))
    assert named in str(err.value)
    if "overfitting" in named:
        assert "nonfinite, loss_not_decreasing, overfit" in str(err.value)  # the valid ones


def test_a_run_without_health_reports_what_it_did_before(tmp_path, capsys):
    result = run_training(_job(tmp_path, "plain", hyperparameters={"epochs": 2}))
    keys = set(result.history[-1])
    assert keys.isdisjoint({"grad_norm", "update_ratio", "nonfinite", "time_to_first_step_s"})
    assert {"train_loss", "val_loss", "epoch_time_s", "step_time_s", "rows_per_s"} <= keys
    assert RunLog(result.run_dir).health_findings() == []
    assert "health:" not in capsys.readouterr().out
    assert not any(k.startswith("health.") for k in _tags(result.run_dir))


def test_a_hung_epoch_is_stopped_by_stalled_long_before_it_wakes(tmp_path, capsys):
    """Epoch 3 sleeps 60 s (the ``hang`` drill); ``stalled`` (1.5 s) is judged by the clock's
    thread, not at a report (there is none while it hangs): the run stops with epoch 2's
    checkpoint kept, and resumes."""
    job = _job(
        tmp_path,
        "hangs",
        failure={"inject": {"mode": "hang", "at_epoch": 3, "delay_s": 60}},
        health={"rules": [{"name": "stalled", "threshold_s": 1.5}], "actions": ["stop", "tag"]},
    )

    # As Ray Train's fit() leaves it after any worker-group run in this process (a notebook, a
    # test session): a SIGINT handler that is not Python's.
    def leftover(signum, frame):
        pass

    before = signal.signal(signal.SIGINT, leftover)
    try:
        began = time.monotonic()
        with pytest.raises(StoppedByRule) as stopped:
            run_training(job)
        waited = time.monotonic() - began
        assert signal.getsignal(signal.SIGINT) is leftover  # given back after the run
    finally:
        signal.signal(signal.SIGINT, before)
    assert waited < 45, f"the run waited out the hang ({waited:.0f} s)"
    err = stopped.value
    assert (err.rule, err.epoch, err.checkpoint_epoch) == ("stalled", 2, 2)
    run_dir = str(tmp_path / "runs" / err.run)
    assert [h["epoch"] for h in RunLog(run_dir).history()] == [1, 2]
    out = capsys.readouterr().out
    assert "[raymaker] health: stalled fired at epoch 2: no new evaluation for" in out
    tags = _tags(run_dir)
    assert tags["health.stalled"].startswith("epoch 2: ") and tags["status"] == "KILLED"

    # Without the drill it finishes from the kept checkpoint.
    fixed = {k: v for k, v in job.items() if k != "failure"}
    result = run_training(fixed, resume=err.run, storage=str(tmp_path / "runs"))
    assert [a["start_epoch"] for a in result.attempts] == [1, 3]
    assert [h["epoch"] for h in result.history] == list(range(1, 7))


def test_a_run_that_never_reaches_its_first_epoch_is_stopped_by_max_initialization_time(
    tmp_path,
):
    job = _job(
        tmp_path,
        "slowstart",
        failure={"inject": {"mode": "hang", "at_epoch": 1, "delay_s": 60}},
        health={
            "rules": [{"name": "max_initialization_time", "threshold_s": 1.0}],
            "actions": ["stop"],
        },
    )
    with pytest.raises(StoppedByRule) as stopped:
        run_training(job)
    assert stopped.value.rule == "max_initialization_time"
    assert stopped.value.checkpoint_epoch is None
    assert RunLog(str(tmp_path / "runs" / stopped.value.run)).history() == []


# The rules that mean a broken run (not a model that has learnt what it can): on the examples'
# own jobs, on data they were not written for, none may fire. overfit / overtraining /
# loss_not_decreasing do fire on some of these jobs, rightly: their validation loss rises for
# several evaluations while the training loss falls (README: Training health rules).
FAILURE_RULES = [
    "nonfinite",
    "vanishing_gradient",
    "exploding_gradient",
    "weight_update_ratio",
    "step_outlier",
    {"name": "stalled", "threshold_s": 120},
    {"name": "max_initialization_time", "threshold_s": 120},
]


@pytest.mark.parametrize(
    ("example", "source"),
    [
        ("train_mlp.yaml", "sklearn:diabetes"),
        ("train_xgboost.yaml", "sklearn:wine"),
        ("train_mlp.yaml", "codes.csv"),
    ],
)
def test_the_examples_jobs_are_healthy_on_other_data(tmp_path, example, source):
    import numpy as np
    import pandas as pd
    import yaml

    examples = Path(__file__).resolve().parents[4] / "examples"
    job = yaml.safe_load((examples / example).read_text())
    dataset = {"source": source}
    if source == "codes.csv":  # categorical codes and a numeric column, a binary label
        rng = np.random.default_rng(0)
        frame = pd.DataFrame({"a": rng.integers(0, 5, 2000), "b": rng.normal(size=2000)})
        frame["y"] = ((frame.a - 2) * 0.8 + frame.b + rng.normal(size=2000) > 0).astype(int)
        frame.to_csv(tmp_path / "codes.csv", index=False)
        dataset = {"source": str(tmp_path / "codes.csv"), "label": "y"}
    job.update(name="healthy", dataset=dataset, storage=str(tmp_path / "runs"))
    job.pop("tracking", None)
    job["health"] = {"rules": FAILURE_RULES, "actions": ["tag"], "every_steps": 5}
    result = run_training(job)
    assert RunLog(result.run_dir).health_findings() == []
    assert "grad_norm" in result.history[-1] or job["model"]["kind"] == "xgboost"
