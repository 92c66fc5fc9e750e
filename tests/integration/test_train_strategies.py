"""DeepSpeed ZeRO 1-3 and FSDP on real Ray Train (2 CPU workers, gloo): training, sharding,
restart from sharded checkpoints, and an artifact that needs neither library.

Kept small (tiny data, 2 epochs) so the four runs take a couple of minutes on 2 cores.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch
from mlflow.tracking import MlflowClient

from ray_apps import load_model, run_training
from ray_apps.learners.torch_learner import read_state

WORKERS = 2
# Strategy, whether the parameters are sharded, and whether a failure is injected at epoch 2
# (the sharded ones: their restart reads every rank's shard back, with optimizer state).
# ZeRO-2 (with gradient clipping) trains in tests/integration/tuning/test_tuning_deepspeed.py.
CASES = {
    "zero1": ({"kind": "deepspeed", "zero_stage": 1}, False, False),
    "zero3": ({"kind": "deepspeed", "zero_stage": 3}, True, True),
    "fsdp": ({"kind": "fsdp", "sharding": "full", "activation_checkpointing": True}, True, True),
}
# The artifact's fp32 weights against the engine's own outputs on the same rows: both fp32 on
# the CPU, the same arithmetic up to summation order.
TOLERANCE = 1e-5


def job(name: str, strategy: dict, inject: bool) -> dict:
    return {
        "name": name,
        "dataset": {"source": "sklearn:breast_cancer"},
        "model": {
            "kind": "torch",
            "class_path": "ray_apps.training.models:WideMLP",
            "params": {"width": 64, "depth": 2},
        },
        "hyperparameters": {"epochs": 2, "batch_size": 64, "lr": 0.003},
        "scaling": {"num_workers": WORKERS, "strategy": strategy, "mode": "distributed"},
        "checkpoint": {"every": 1, "keep": 1},
        "failure": {"inject": {"at_epoch": 2}} if inject else {},
        # The health probe's gradient signals under each strategy (ZeRO hands over its norm).
        "health": {"rules": ["nonfinite"], "every_steps": 2},
    }


@pytest.mark.parametrize("case", list(CASES))
def test_strategy_trains_shards_resumes_and_packages(ray_session, case, tmp_path):
    strategy, sharded, inject = CASES[case]
    result = run_training(job(f"strategy-{case}", strategy, inject))

    assert [a["start_epoch"] for a in result.attempts] == ([1, 2] if inject else [1])
    first, last = result.history
    assert last["train_loss"] < first["train_loss"]
    for epoch in result.history:  # every strategy reports the gradient's global norm
        assert 0 < epoch["grad_norm"] < 1e3 and epoch["nonfinite"] == 0, epoch
    assert last["val_loss"] < first["val_loss"]
    assert result.metrics["accuracy"] > 0.85

    # Each rank's parameter bytes: the whole model (ZeRO 1/2), or ~1/N of it (ZeRO-3, FSDP).
    model = load_model(result.artifact_path)
    whole = sum(t.numel() * 4 for t in model.predictor.state_dict().values())
    for rank in range(WORKERS):
        held = last[f"rank{rank}_param_bytes"]
        expected = whole / WORKERS if sharded else whole
        assert held == pytest.approx(expected, rel=0.05), (rank, held, whole)
        assert last[f"rank{rank}_optimizer_bytes"] > 0 and last[f"rank{rank}_grad_bytes"] > 0
        assert last[f"rank{rank}_peak_rss_bytes"] > 0

    # The artifact predicts what the training engine computed on the same validation rows.
    final = read_state(f"{result.run_dir}/checkpoint_epoch_000002")
    probe = final["engine_outputs"]
    with torch.no_grad():
        out = model.predictor(probe["x"])
    torch.testing.assert_close(out, probe["out"], atol=TOLERANCE, rtol=TOLERANCE)
    assert _max_error_without_deepspeed(result.artifact_path, probe, tmp_path) <= TOLERANCE

    client = MlflowClient(tracking_uri=result.tracking_uri)
    history = client.get_metric_history(result.mlflow_run_id, "rank1_param_bytes")
    assert {m.step for m in history} == {1, 2}


def _max_error_without_deepspeed(artifact: str, probe: dict, tmp_path) -> float:
    """Load and predict in a fresh interpreter where importing DeepSpeed or torch's
    distributed checkpointing (FSDP's) fails."""
    torch.save(probe, tmp_path / "probe.pt")
    script = f"""
import sys, json, torch
sys.modules["deepspeed"] = None
sys.modules["torch.distributed.checkpoint"] = None
from ray_apps import load_model
probe = torch.load({str(tmp_path / "probe.pt")!r})
with torch.no_grad():
    out = load_model({artifact!r}).predictor(probe["x"])
print(json.dumps(float((out - probe["out"]).abs().max())))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])
