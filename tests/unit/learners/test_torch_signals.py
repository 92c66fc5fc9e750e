"""The health probe's gradient signals: the global norm a strategy hands over (DeepSpeed ZeRO,
whose reduced gradients never reach ``p.grad``) against torch's own norm of the same gradient,
and how ranks' shares add up to it."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch

from ray_apps.learners._torch_signals import GradientProbe

# One process, one rank, gloo: what each Ray Train worker of a ZeRO run does, without Ray. Per
# stage: DeepSpeed's engine and a plain torch copy of the same model take one step on the same
# batch; the probe's signals come from the engine, the oracle is torch's norm of the copy's grads.
_SCRIPT = r"""
import copy, json, os, sys
os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=sys.argv[1], RANK="0", WORLD_SIZE="1",
                  LOCAL_RANK="0", LOCAL_WORLD_SIZE="1")
import torch, torch.distributed as dist
dist.init_process_group("gloo")
from ray_apps.learners._torch_signals import GradientProbe
from ray_apps.learners.strategies._deepspeed import DeepSpeedEngine
from ray_apps.learners.strategies._deepspeed_config import DeepSpeedOptions
from ray_apps.learners.torch_learner import TorchHyperparameters
out = {}
for stage in (1, 2, 3):
    torch.manual_seed(stage)
    model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 3))
    twin = copy.deepcopy(model)
    hp = TorchHyperparameters(batch_size=6, lr=0.01)
    engine = DeepSpeedEngine(model, DeepSpeedOptions(kind="deepspeed", zero_stage=stage), hp)
    probe = GradientProbe(engine.module, 1, 1, engine.global_grad_norm, world_size=1)
    x, y = torch.randn(6, 8), torch.tensor([0, 1, 2, 0, 1, 2])
    probe.begin_epoch()
    loss = torch.nn.functional.cross_entropy(engine.module(x), y)
    engine.backward(loss)
    probe.after_backward()
    engine.step()
    probe.after_step()
    torch.nn.functional.cross_entropy(twin(x), y).backward()
    norms = torch.stack([p.grad.norm() for p in twin.parameters()])
    oracle = float(torch.linalg.vector_norm(norms))
    out[stage] = {"signals": probe.signals(probe.sums(), 1, engine.sharded), "torch": oracle}
print("RESULT " + json.dumps(out))
"""


def test_zero_stages_report_deepspeeds_global_norm_and_it_is_torchs(tmp_path):
    from _sockets import free_port

    done = subprocess.run(
        [sys.executable, "-c", _SCRIPT, str(free_port())],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    assert done.returncode == 0 and lines, (done.stdout + done.stderr)[-3000:]
    result = json.loads(lines[-1].removeprefix("RESULT "))
    for stage, found in result.items():
        signals = found["signals"]
        assert signals["grad_norm"] == pytest.approx(found["torch"], rel=1e-5), stage
        assert signals["nonfinite"] == 0
        # Nothing to average |g| over (ZeRO's buffers): absent, not a zero the rules would read.
        assert "grad_abs_mean" not in signals, stage
    # ZeRO 1/2 keep whole parameters on the module: the update ratio is measured there.
    assert result["1"]["signals"]["update_ratio"] > 0


def test_ranks_shares_of_a_given_norm_add_up_to_it_once():
    module = torch.nn.Linear(3, 2)  # no backward: p.grad stays None, as under ZeRO
    ranks = [GradientProbe(module, 1, 1, lambda: 2.5, world_size=4) for _ in range(4)]
    for probe in ranks:
        probe.begin_epoch()
        probe.after_backward()
        probe.after_step()
    reduced = [sum(col) for col in zip(*(p.sums() for p in ranks), strict=True)]
    signals = ranks[0].signals(reduced, world_size=4, sharded=True)
    assert signals["grad_norm"] == pytest.approx(2.5)
    assert "grad_abs_mean" not in signals
    diverged = GradientProbe(module, 1, 1, lambda: float("nan"), world_size=1)
    diverged.begin_epoch()
    diverged.after_backward()
    diverged.after_step()
    assert diverged.signals(diverged.sums(), 1, sharded=True)["nonfinite"] == 1


def test_a_probe_that_reads_gradients_ignores_the_given_norm():
    module = torch.nn.Linear(3, 1, bias=False)
    with torch.no_grad():
        module.weight.copy_(torch.tensor([[1.0, 2.0, 2.0]]))
    probe = GradientProbe(module, 1, 1, lambda: 99.0, world_size=1)
    probe.begin_epoch()
    module(torch.tensor([[1.0, 0.0, 0.0]])).sum().backward()  # grad [1, 0, 0]: norm 1
    probe.after_backward()
    probe.after_step()
    signals = probe.signals(probe.sums(), 1, sharded=False)
    assert signals["grad_norm"] == pytest.approx(1.0)
    assert signals["grad_abs_mean"] == pytest.approx(1 / 3)
