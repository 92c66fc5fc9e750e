"""Check the GPU path on a machine with NVIDIA GPUs: DDP over NCCL inside Ray Train, with a
restart from a checkpoint, and the trained weights loading back on CPU.

    python examples/gpu_check.py            # needs ray, torch with CUDA, scikit-learn, pydantic

It skips MLflow (the only part not needed to exercise the GPU path) and prints what it saw.
"""

from __future__ import annotations

import sys
import tempfile
import time

import torch


def run(workers: int, gpu_per_worker: float) -> None:
    import ray.train

    from ray_apps._ray_runtime import ensure_ray
    from ray_apps.spec import TrainJobSpec
    from ray_apps.training import FaultPlan, build_trainer, loop_config, prepare_data, tables
    from ray_apps.training.job import evaluate, model_from_checkpoint

    ensure_ray()
    spec = TrainJobSpec.model_validate(
        {
            "name": "gpu",
            "dataset": {"source": "sklearn:breast_cancer"},
            "model": {"kind": "torch", "params": {"hidden_sizes": [256, 256]}},
            "hyperparameters": {"epochs": 6, "batch_size": 64, "lr": 0.003},
            "scaling": {
                "num_workers": workers,
                "use_gpu": True,
                "resources_per_worker": {"GPU": gpu_per_worker, "CPU": 1},
            },
            "failure": {"max_failures": 1, "inject": {"at_epoch": 4}},
        }
    )
    data, pre = prepare_data(spec)
    with tempfile.TemporaryDirectory() as storage:
        run_dir = f"{storage}/gpu-{workers}"
        config = loop_config(spec, data, pre).for_run(
            run_dir, FaultPlan.from_spec(spec.failure.inject), None
        )
        run_config = ray.train.RunConfig(
            name=f"gpu-{workers}",
            storage_path=storage,
            failure_config=ray.train.FailureConfig(max_failures=1),
        )
        t0 = time.perf_counter()
        result = build_trainer(spec, config, tables(data, pre), run_config).fit()
        elapsed = time.perf_counter() - t0
        from ray_apps.training.run_log import RunLog

        log = RunLog(run_dir)
        starts = [a["start_epoch"] for a in log.attempts()]
        epochs = [h["epoch"] for h in log.history()]
        model = model_from_checkpoint(spec, data, pre, result.checkpoint)
        metrics = evaluate(model, data.test)
    print(
        f"GPU CHECK workers={workers} gpu/worker={gpu_per_worker}: starts at epochs {starts}, "
        f"epochs {epochs}, test accuracy {metrics['accuracy']:.3f}, "
        f"{elapsed:.1f} s",
        flush=True,
    )


if __name__ == "__main__":
    print(
        f"torch {torch.__version__}, cuda available {torch.cuda.is_available()}, "
        f"{torch.cuda.device_count()} GPU(s)",
        flush=True,
    )
    run(workers=1, gpu_per_worker=1.0)
    if len(sys.argv) > 1 and sys.argv[1] == "--shared":
        run(workers=2, gpu_per_worker=0.5)  # NCCL refuses two ranks on one GPU: shows how
