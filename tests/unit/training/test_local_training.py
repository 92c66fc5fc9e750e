"""Training in this process (no worker group): where a job goes, and a whole run through the
same front door — checkpoints kept, restarts from the newest one, resume, the artifact."""

from __future__ import annotations

import pytest

from ray_apps import load_model
from ray_apps.errors import SpecError, TrainingError
from ray_apps.spec import TrainJobSpec, parse_spec
from ray_apps.training import run_training
from ray_apps.training.local import LocalSession
from ray_apps.training.placement import LOCAL_MAX_BYTES, choose_placement


def _spec(tmp_path, kind="xgboost", **extra) -> TrainJobSpec:
    torch = kind == "torch"
    job = {
        "name": f"local-{kind}",
        "dataset": {"source": "sklearn:iris" if torch else "sklearn:breast_cancer"},
        "model": {"kind": kind, **({"params": {"hidden_sizes": [16]}} if torch else {})},
        "hyperparameters": (
            {"epochs": 6, "batch_size": 16, "lr": 0.01}
            if torch
            else {"rounds": 30, "params": {"max_depth": 3}}
        ),
        "scaling": {"num_workers": 1},
        "checkpoint": {"every": 2 if torch else 10, "keep": 2},
        "storage": str(tmp_path / "runs"),
    }
    for key, value in extra.items():
        job[key] = {**job.get(key, {}), **value} if isinstance(value, dict) else value
    return parse_spec(TrainJobSpec, job)


@pytest.mark.parametrize(
    ("extra", "mode", "why"),
    [
        ({}, "local", "one CPU worker"),
        ({"scaling": {"num_workers": 2}}, "distributed", "scaling.num_workers 2"),  # size unknown
        ({"scaling": {"use_gpu": True}}, "distributed", "scaling.use_gpu"),
        ({"scaling": {"min_workers": 1}}, "distributed", "elastic"),
        ({"failure": {"inject": {"at_epoch": 2}}}, "distributed", "failure.inject"),
        ({"scaling": {"mode": "distributed"}}, "distributed", "scaling.mode distributed"),
        ({"scaling": {"num_workers": 2, "mode": "local"}}, "local", "scaling.mode local"),
    ],
)
def test_one_cpu_worker_trains_here_and_the_rest_on_a_worker_group(tmp_path, extra, mode, why):
    placement = choose_placement(_spec(tmp_path, **extra))
    assert placement.mode == mode and why in placement.why
    assert ("in this process" in placement.line) == (mode == "local")


@pytest.mark.parametrize(
    ("train_bytes", "mode", "why"),
    [
        (LOCAL_MAX_BYTES, "local", "64.0 MiB of training data fit one process: 3 workers'"),
        (LOCAL_MAX_BYTES + 1, "distributed", "scaling.num_workers 3, 64.0 MiB of training data"),
    ],
)
def test_several_workers_on_data_one_process_holds_train_here(tmp_path, train_bytes, mode, why):
    spec = _spec(tmp_path, scaling={"num_workers": 3})
    placement = choose_placement(spec, train_bytes=train_bytes)
    assert placement.mode == mode and why in placement.why
    # What one process cannot honour still goes to a worker group, whatever the size.
    gpu = _spec(tmp_path, scaling={"num_workers": 3, "use_gpu": True})
    assert choose_placement(gpu, train_bytes=1).mode == "distributed"


def test_a_local_run_for_n_workers_steps_on_their_global_batch(tmp_path):
    """Data-parallel SGD over N workers with batch B is one process with batch N·B: the same
    model, not N times the steps."""
    two = run_training(
        _spec(tmp_path, "torch", name="two", scaling={"num_workers": 2, "mode": "local"})
    )
    one = run_training(_spec(tmp_path, "torch", name="one", hyperparameters={"batch_size": 32}))
    for key in ("train_loss", "val_loss"):
        assert two.history[-1][key] == pytest.approx(one.history[-1][key], rel=1e-6)
    assert two.metrics == pytest.approx(one.metrics, rel=1e-6)  # the held-out test figures


def test_a_job_joining_a_cluster_trains_on_its_workers_unless_forced(tmp_path):
    assert choose_placement(_spec(tmp_path), on_cluster=True).mode == "distributed"
    forced = _spec(tmp_path, scaling={"mode": "local"})
    assert choose_placement(forced, on_cluster=True).mode == "local"


def test_forcing_local_on_what_one_process_cannot_run_names_the_field(tmp_path):
    spec = _spec(tmp_path, "torch", scaling={"mode": "local", "strategy": "fsdp"})
    with pytest.raises(SpecError, match="scaling.strategy fsdp") as err:
        choose_placement(spec)
    assert "scaling.mode distributed" in str(err.value)


@pytest.mark.parametrize("kind", ["xgboost", "torch"])
def test_a_local_run_leaves_what_a_worker_group_run_leaves(tmp_path, capsys, kind):
    result = run_training(_spec(tmp_path, kind))
    out = capsys.readouterr().out
    assert "training in this process" in out
    epochs = 30 if kind == "xgboost" else 6
    assert [h["epoch"] for h in result.history] == list(range(1, epochs + 1))
    assert [a["start_epoch"] for a in result.attempts] == [1]
    kept = sorted(p.name for p in (tmp_path / "runs" / result.run_name).glob("checkpoint_*"))
    last = [epochs - (10 if kind == "xgboost" else 2), epochs]
    assert kept == [f"checkpoint_epoch_{e:06d}" for e in last]  # checkpoint.keep: 2
    assert result.metrics["accuracy"] > (0.9 if kind == "xgboost" else 0.7)  # chance: 0.33-0.63
    assert "ray" not in result.phases  # no Ray was started for it
    model = load_model(result.artifact_path)
    assert model.info.kind == kind


def test_a_failed_attempt_restarts_from_the_newest_checkpoint(tmp_path, monkeypatch, capsys):
    real = LocalSession.report
    failed = []

    def fail_once_at_15(self, metrics, epoch, save):
        if epoch == 15 and not failed:
            failed.append(epoch)
            raise RuntimeError("lost the process's data at round 15")
        return real(self, metrics, epoch, save)

    monkeypatch.setattr(LocalSession, "report", fail_once_at_15)
    result = run_training(_spec(tmp_path, failure={"max_failures": 1}))
    assert [a["start_epoch"] for a in result.attempts] == [1, 11]
    assert "restarting from the newest checkpoint (1/1)" in capsys.readouterr().out
    assert result.history[-1]["epoch"] == 30


def test_out_of_restarts_says_how_to_resume_and_resume_continues(tmp_path, monkeypatch):
    real = LocalSession.report

    def fail_at_25(self, metrics, epoch, save):
        if epoch == 25:
            raise RuntimeError("killed")
        return real(self, metrics, epoch, save)

    monkeypatch.setattr(LocalSession, "report", fail_at_25)
    with pytest.raises(TrainingError, match="raymaker train --resume local-xgboost-") as err:
        run_training(_spec(tmp_path, failure={"max_failures": 0}))
    name = str(err.value).split("--resume ")[1].split("`")[0]
    monkeypatch.setattr(LocalSession, "report", real)
    result = run_training(resume=name, storage=str(tmp_path / "runs"))
    assert [a["start_epoch"] for a in result.attempts] == [1, 21]
    assert result.history[-1]["epoch"] == 30
