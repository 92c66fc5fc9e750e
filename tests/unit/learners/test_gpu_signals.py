"""GPU utilisation for ``low_gpu_utilization``: what ranks' samples add up to, that a CPU rank
contributes nothing (no signal, so the rule cannot fire on a CPU run), and which jobs may ask
for the rule. On a GPU machine ``examples/gpu_check.py`` runs it on a real device."""

from __future__ import annotations

import pytest
import torch

from ray_apps.errors import SpecError
from ray_apps.learners._gpu_signals import GpuUtilization
from ray_apps.spec import TrainJobSpec, parse_spec


def test_a_cpu_rank_samples_nothing_and_reports_no_signal():
    gpu = GpuUtilization(torch.device("cpu"))
    gpu.begin_epoch()
    for _ in range(5):
        gpu.sample()
    assert gpu.sums() == [0.0, 0.0]
    assert GpuUtilization.signals(gpu.sums()) == {}


def test_ranks_samples_average_over_all_of_them():
    # Rank 0 sampled 90 % and 70 %, rank 1 (same number of steps) 40 % and 40 %.
    rank0, rank1 = [160.0, 2.0], [80.0, 2.0]
    reduced = [a + b for a, b in zip(rank0, rank1, strict=True)]
    assert GpuUtilization.signals(reduced) == {"gpu_utilization": 60.0}


def _job(**over) -> dict:
    job = {
        "name": "gpu-watch",
        "dataset": {"source": "sklearn:iris"},
        "model": {"kind": "torch"},
        "scaling": {"num_workers": 2, "use_gpu": True},
        "health": {"rules": ["low_gpu_utilization"]},
    }
    return {**job, **over}


def test_only_a_torch_run_on_gpus_may_watch_them():
    rule = parse_spec(TrainJobSpec, _job()).health.rules[0]
    assert rule.name == "low_gpu_utilization" and rule.params.threshold_percent == 70
    for refused in (_job(scaling={"num_workers": 2}), _job(model={"kind": "xgboost"})):
        with pytest.raises(SpecError, match="low_gpu_utilization watches the GPUs of a torch run"):
            parse_spec(TrainJobSpec, refused)
