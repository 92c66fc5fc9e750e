"""Check the GPU paths on a machine with NVIDIA GPUs, through raymaker's own training path.

    .venv/bin/python examples/gpu_check.py     # one H200: expected ≤ 5 min; exit 1 if a run fails

A few epochs of a WideMLP (Ψ ≈ 34 M) on breast_cancer with ``run_training`` and
``scaling.use_gpu: true``, one run per GPU path:

    ddp-1       DDP over NCCL on 1 rank, failing once at epoch 3 to restart from its checkpoint
    ddp-2       DDP over NCCL on 2 ranks (only with ≥ 2 GPUs)
    zero3-bf16  DeepSpeed ZeRO-3 in bf16 on min(2, GPUs) ranks
    fsdp-bf16   FSDP2 (``fully_shard``) in bf16 on min(2, GPUs) ranks

For each it prints every rank's parameter, gradient, optimizer and model-state bytes (the run's
``rank<r>_*`` metrics) beside DeepSpeed's own estimate (its ZeRO-3 estimator for ZeRO-3 and
FSDP, which shard the same way; DeepSpeed has none for DDP), peak CUDA memory, the median step
time, the test accuracy of the artifact, and the health signals' GPU utilisation per epoch and
gradient norm (a run without them fails the check). Runs and the MLflow store go to a
temporary folder. Without a GPU it prints one line and exits 0 at once: the check comes before
torch or Ray is imported.
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

MIB = 2**20
MEMORY_KEYS = ("param", "grad", "optimizer", "model_state", "peak_cuda")  # rank<r>_<key>_bytes
WIDTH, DEPTH, EPOCHS = 2048, 8, 4


def gpu_count() -> int:
    """Visible CUDA GPUs. No NVIDIA driver node or ``nvidia-smi`` means none, without paying
    for torch's import (seconds); otherwise torch decides."""
    if not (Path("/dev/nvidiactl").exists() or shutil.which("nvidia-smi")):
        return 0
    import torch

    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def plan(gpus: int) -> list[dict]:
    """The training jobs to run on ``gpus`` GPUs, as job specs."""
    sharded = min(gpus, 2)
    runs = [("ddp-1", 1, "ddp", {"at_epoch": 3})]
    if gpus >= 2:
        runs.append(("ddp-2", 2, "ddp", None))
    runs += [
        ("zero3-bf16", sharded, {"kind": "deepspeed", "zero_stage": 3, "precision": "bf16"}, None),
        ("fsdp-bf16", sharded, {"kind": "fsdp", "sharding": "full", "precision": "bf16"}, None),
    ]
    return [job(*run) for run in runs]


def job(name: str, ranks: int, strategy, inject: dict | None) -> dict:
    return {
        "name": f"gpu-{name}",
        "dataset": {"source": "sklearn:breast_cancer"},
        "model": {
            "kind": "torch",
            "class_path": "ray_apps.training.models:WideMLP",
            "params": {"width": WIDTH, "depth": DEPTH},
        },
        "hyperparameters": {"epochs": EPOCHS, "batch_size": 64, "lr": 0.001},
        "scaling": {"num_workers": ranks, "use_gpu": True, "strategy": strategy},
        # A hung collective must fail within the check's time, not NCCL's default 5 minutes.
        "failure": {
            "max_failures": 1 if inject else 0,
            "collective_timeout_s": 60,
            "inject": inject,
        },
        "tracking": {"experiment": "gpu-check"},
        # GPU utilisation sampled per step for the health rule (tagged only: a small model
        # may well leave an H200 idle); report() prints it and a run without it fails.
        "health": {"rules": ["low_gpu_utilization", "nonfinite"], "actions": ["tag"]},
    }


def deepspeed_estimate(strategy, model, ranks: int) -> int | None:
    """DeepSpeed's estimate of per-GPU model-state bytes for ``model`` sharded over ``ranks``
    GPUs on one node without offload (None for DDP). Its ``*_all_live`` forms only print a
    table, so this calls the helpers they use."""
    kind = strategy if isinstance(strategy, str) else strategy["kind"]
    if kind == "ddp":
        return None
    from ray_apps.learners.strategies.zero_estimate import zero_estimates

    stage = (strategy.get("zero_stage") or 2) if kind == "deepspeed" else 3  # FSDP shards as 3
    return zero_estimates(model, ranks)[f"zero{stage}"]


def report(spec: dict, result, elapsed: float) -> None:
    ranks, strategy = spec["scaling"]["num_workers"], spec["scaling"]["strategy"]
    model = result.load_model().predictor
    psi = sum(p.numel() for p in model.parameters())
    estimate = deepspeed_estimate(strategy, model, ranks)
    starts = [a["start_epoch"] for a in result.attempts]
    step = statistics.median(h["step_time_s"] for h in result.history[1:])
    print(
        f"GPU CHECK {spec['name']}: {ranks} rank(s), Ψ = {psi:,}, starts at epochs {starts}, "
        f"test accuracy {result.metrics['accuracy']:.3f}, median step {step:.4f} s, "
        f"{elapsed:.0f} s",
        flush=True,
    )
    utilisation = [h["gpu_utilization"] for h in result.history if "gpu_utilization" in h]
    if len(utilisation) != len(result.history):
        raise RuntimeError(f"{spec['name']}: epochs without a gpu_utilization signal")
    print(
        f"  GPU utilisation per epoch (%): {', '.join(f'{u:.0f}' for u in utilisation)}; "
        f"grad norm {result.history[-1]['grad_norm']:.3g}",
        flush=True,
    )
    shown = "none" if estimate is None else f"{estimate / MIB:.1f} MiB"
    last = result.history[-1]
    for r in range(ranks):
        mib = {k: last[f"rank{r}_{k}_bytes"] / MIB for k in MEMORY_KEYS}
        print(
            f"  rank{r}: params {mib['param']:.1f}, grads {mib['grad']:.1f}, optimizer "
            f"{mib['optimizer']:.1f}, model state {mib['model_state']:.1f} MiB (DeepSpeed "
            f"estimate {shown}), peak CUDA {mib['peak_cuda']:.1f} MiB",
            flush=True,
        )


def main() -> int:
    gpus = gpu_count()
    if gpus == 0:
        print("GPU CHECK skipped: no GPU found (no NVIDIA driver, or torch sees no CUDA device)")
        return 0
    from ray_apps import run_training

    failed = []
    with tempfile.TemporaryDirectory() as tmp:
        # MLflow puts a SQLite store's artifacts in ./mlruns unless told otherwise.
        os.environ["RAYMAKER_MLFLOW_ARTIFACTS"] = f"{tmp}/mlflow-artifacts"
        for spec in plan(gpus):
            spec["tracking"]["uri"] = f"sqlite:///{tmp}/mlflow.db"
            t0 = time.perf_counter()
            try:
                result = run_training(spec, storage=tmp)
            except Exception as err:  # report every path, then fail the check
                print(f"GPU CHECK {spec['name']} FAILED: {type(err).__name__}: {err}", flush=True)
                failed.append(spec["name"])
                continue
            try:
                report(spec, result, time.perf_counter() - t0)
            except Exception as err:
                print(f"GPU CHECK {spec['name']} FAILED: {err}", flush=True)
                failed.append(spec["name"])
    print(f"GPU CHECK {'FAILED: ' + ', '.join(failed) if failed else 'passed'} on {gpus} GPU(s)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
