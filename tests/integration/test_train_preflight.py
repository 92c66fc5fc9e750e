"""Preflight on a real Ray Train worker group: two workers start, all-reduce and read their
shard before the run, in seconds, leaving nothing behind; a worker stuck at the all-reduce is
named within 30 s; a job asking for GPUs the cluster lacks is refused at once, naming the
setting, instead of waiting forever for its workers."""

from __future__ import annotations

import re
import time

import pytest
from _serve_helpers import wait_for

from ray_apps.spec import TrainJobSpec, parse_spec
from ray_apps.training import run_training
from ray_apps.training.preflight import PreflightError, check_job


def _job(tmp_path, **scaling) -> dict:
    return {
        "name": "preflight-xgb",
        "dataset": {"source": "sklearn:breast_cancer"},
        "model": {"kind": "xgboost"},
        "hyperparameters": {"rounds": 4},
        "scaling": {"num_workers": 2, "mode": "distributed", **scaling},
        "checkpoint": {"every": 4, "keep": 1},
        "storage": str(tmp_path / "runs"),
        "health": {"preflight": "always"},
    }


def test_preflight_checks_every_worker_then_the_run_trains(ray_session, tmp_path, capsys):
    report = check_job(parse_spec(TrainJobSpec, _job(tmp_path)))
    assert report.workers == 2 and len(report.devices) == 2 and report.all_reduce_ms > 0
    print(report.line)
    # Nothing of the preflight stays in run storage: no probe files, no Ray Train run folder.
    assert not list((tmp_path / "runs").iterdir())

    result = run_training(_job(tmp_path))
    out = capsys.readouterr().out
    # Printed by the driver before the worker group of the run starts.
    assert out.index("[raymaker] training on a Ray Train worker group") < out.rindex(
        "[raymaker] preflight passed"
    )
    assert "2 worker(s) on 1 node(s)" in out and "storage writable" in out
    assert [h["epoch"] for h in result.history][-1] == 4
    assert [p.name for p in (tmp_path / "runs").iterdir()] == [result.run_name]


def test_gpus_the_cluster_lacks_are_named_before_any_worker_waits(ray_session, tmp_path):
    started = time.monotonic()
    with pytest.raises(PreflightError, match=r"1 GPU each, and the cluster has 0 GPU") as err:
        check_job(parse_spec(TrainJobSpec, _job(tmp_path, use_gpu=True)))
    assert "scaling.use_gpu: false" in str(err.value)
    assert time.monotonic() - started < 30


def test_a_worker_stuck_at_the_all_reduce_is_named_within_30_s(ray_session, tmp_path):
    """failure.inject at_epoch 0 (preflight's drill): rank 1 reaches the all-reduce and sleeps,
    as a worker stuck in a collective does; rank 0 times out and the finding names rank 1."""
    job = _job(tmp_path)
    job["failure"] = {"inject": {"at_epoch": 0, "rank": 1, "mode": "hang", "delay_s": 300}}
    started = time.monotonic()
    with pytest.raises(PreflightError) as err:
        check_job(parse_spec(TrainJobSpec, job))
    took_s = time.monotonic() - started
    message = str(err.value)
    print(f"stuck all-reduce named {err.value.after_s} s after it began ({took_s:.1f} s in all)")
    assert re.match(
        r"preflight: all-reduce did not complete within 20 s: rank 1 on node [\d.]+ \(pid \d+\) "
        r"did not answer \(rank 0 on node [\d.]+ timed out waiting\)",
        message,
    ), message
    assert err.value.after_s <= 30
    # The worker group is torn down (the sleeping worker too) and nothing stays in run storage.
    runs = tmp_path / "runs"
    wait_for(lambda: not runs.exists() or not any(runs.iterdir()), 90, "run storage emptied")
