"""The raymaker demo: what `make demo` runs, on the embedded default (local Ray, SQLite MLflow).

1. A 2-worker PyTorch DDP job on bundled data, with one failure injected at epoch 4: Ray Train
   restarts the workers and they resume from the epoch-3 checkpoint.
2. Distributed XGBoost on 2 workers, with a worker process killed at round 25: it resumes
   from the round-20 checkpoint.
3. A short tuning job: Bayesian search (Optuna TPE) with ASHA early stopping over XGBoost
   hyperparameters; its best trial becomes a model artifact.
4. Serving: the tuned model is registered, approved and deployed on Ray Serve (HAProxy
   ingress where available), called over KServe V1 and Open Inference V2 with an API key, a
   call without the key is refused, one asynchronous request is answered through its status
   URL (the consumer wakes from zero replicas). Then the served model is watched: shifted
   traffic is captured and labelled over HTTP, a one-shot monitor alerts on the shifted columns
   (with its report path and the labels' model quality), three predictions are explained over
   HTTP, the version's offline evaluation is summarised, and the endpoint shuts down.
5. Rolling out the next version: step 2's XGBoost model is registered and approved as the
   next version, a guarded canary (demo settings: steps 20 % then 100 %, 8 s bakes) moves the
   endpoint's traffic to it under load, printing each decision with its guardrail figures, and
   promotes it; then both versions serve at 50/50, the held-out rows are sent with routing keys
   and labelled over HTTP, and the A/B readout says which is more accurate so far.
6. Batch transform: the approved model (now the promoted version) scores a generated 100k-row
   Parquet file with ``run_batch``, as a notebook would; every row in must come out.
7. A pipeline (examples/pipeline_retrain.yaml): train → evaluate → gate on ROC AUC → register,
   run twice; the second run, on unchanged data, is all cache hits.
Each leaves a self-contained artifact and an MLflow run.

    .venv/bin/python examples/demo.py
"""

from __future__ import annotations

import sys
from pathlib import Path

from rich.console import Console

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from examples.demo_batch import batch_demo
from examples.demo_pipeline import pipeline_demo
from examples.demo_rollout import rollout_demo
from examples.demo_serving import serve_demo
from ray_apps import load_model, load_train_spec, registry, run_training
from ray_apps.cli.console import show_training, show_tuning
from serve.ingress import use_fast_ingress
from tuning import run_tuning

HERE = Path(__file__).resolve().parent
console = Console(soft_wrap=True)


def main() -> int:
    # The fast ingress must be chosen before Ray starts (the first training job starts it).
    console.print(use_fast_ingress())
    console.rule("[bold]1. PyTorch DDP, 2 workers, a failure injected at epoch 4")
    mlp = load_train_spec(HERE / "train_mlp.yaml").model_dump()
    mlp["failure"] = {"max_failures": 2, "inject": {"at_epoch": 4}}
    result = run_training(mlp)
    show_training(result, "PyTorch DDP")

    console.rule("[bold]2. Distributed XGBoost, 2 workers, a worker killed at round 25")
    xgb = load_train_spec(HERE / "train_xgboost.yaml").model_dump()
    xgb["failure"] = {"max_failures": 2, "inject": {"at_epoch": 25, "rank": 1, "mode": "kill"}}
    xgb_result = run_training(xgb)
    show_training(xgb_result, "XGBoost")

    console.rule("[bold]3. Tuning: Bayesian search + ASHA early stopping")
    tuned = run_tuning(HERE / "tune_xgboost.yaml")
    show_tuning(tuned)
    stopped = sum(r["stopped_early"] for r in tuned.leaderboard)
    console.print(f"ASHA stopped {stopped} of {len(tuned.leaderboard)} trials early")

    console.rule("[bold]4. Serving the tuned model")
    serve_demo(tuned.artifact_path)

    console.rule("[bold]5. Rolling out the next version, then an A/B readout")
    tuned_version = registry.get_version("cancer").version  # newest Approved: what step 4 served
    rollout_demo(tuned_version, xgb_result.artifact_path)

    console.rule("[bold]6. Batch transform with the approved model")
    scored = batch_demo()
    if scored.summary.rows_out != scored.summary.rows_in:
        console.print(f"[red]batch transform lost rows[/red]: {scored.summary.line()}")
        return 1

    console.rule("[bold]7. A pipeline: train, evaluate, gate, register — then again, cached")
    if not pipeline_demo():
        return 1

    model = load_model(result.artifact_path)
    rows = model.info.feature_names
    console.rule("[bold]the artifact, loaded back")
    console.print(
        f"load_model({result.artifact_path!r}) → {model.info.kind} {model.info.task}, "
        f"{len(rows)} features, classes {model.info.classes}"
    )
    console.print(
        "[green]demo finished[/green]: both jobs restarted from their checkpoints "
        f"({result.restarts} and {xgb_result.restarts} restart(s)) and finished."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
