"""examples/gpu_check.py: the no-GPU exit here, and the jobs and estimates of its GPU path."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ray_apps.spec import TrainJobSpec, parse_spec

SCRIPT = Path(__file__).resolve().parents[2] / "examples" / "gpu_check.py"


def _module():
    spec = importlib.util.spec_from_file_location("gpu_check", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.skipif(_module().gpu_count() > 0, reason="a GPU is present: the check would run")
def test_without_a_gpu_it_says_so_and_exits_0_quickly():
    t0 = time.perf_counter()
    done = subprocess.run(
        [sys.executable, str(SCRIPT)], capture_output=True, text=True, timeout=30, check=False
    )
    elapsed = time.perf_counter() - t0
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == (
        "GPU CHECK skipped: no GPU found (no NVIDIA driver, or torch sees no CUDA device)"
    )
    assert elapsed < 10


@pytest.mark.parametrize("gpus, names", [(1, 3), (2, 4), (8, 4)])
def test_every_planned_job_is_a_valid_gpu_job(gpus, names):
    jobs = _module().plan(gpus)
    assert len(jobs) == names
    for job in jobs:
        spec = parse_spec(TrainJobSpec, job)
        assert spec.scaling.use_gpu and spec.scaling.num_workers <= min(gpus, 2)


def test_deepspeed_estimates_match_its_formulas():
    from ray_apps.training.models import WideMLP

    check = _module()
    model = WideMLP(8, 2, width=64, depth=2)
    psi = sum(p.numel() for p in model.parameters())
    largest = 64 * 64 + 64  # one block's Linear
    assert check.deepspeed_estimate("ddp", model, 2) is None
    assert check.deepspeed_estimate({"kind": "deepspeed", "zero_stage": 1}, model, 2) == (
        2 * psi + 18 * psi // 2
    )
    zero3 = 18 * psi // 2 + 4 * largest
    assert check.deepspeed_estimate({"kind": "deepspeed", "zero_stage": 3}, model, 2) == zero3
    assert check.deepspeed_estimate({"kind": "fsdp"}, model, 2) == zero3
