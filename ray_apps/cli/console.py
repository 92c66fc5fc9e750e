"""Rich rendering of results for the CLI and the demo."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table

from ray_apps.tracking import shown_uri

if TYPE_CHECKING:  # the CLI starts without importing the training stack
    from ray_apps.training import TrainResult

# Piped output (CI logs, `ray job logs`) gets 80 columns by default: too narrow for tables.
console = Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 160)


def show_training(result: TrainResult, title: str = "training run") -> None:
    console.rule(f"[bold]{title}: {result.run_name}")
    hist = Table("epoch", *[k for k in _history_keys(result)], title="per-epoch metrics")
    for row in result.history:
        hist.add_row(str(row["epoch"]), *[_fmt(row.get(k)) for k in _history_keys(result)])
    console.print(hist)
    starts = ", ".join(str(a["start_epoch"]) for a in result.attempts)
    console.print(f"attempts started at epoch(s): {starts}  (restarts: {result.restarts})")
    test = Table("metric", "value", title="held-out test metrics")
    for key, value in result.metrics.items():
        test.add_row(key, _fmt(value))
    console.print(test)
    console.print(f"artifact:   {result.artifact_path}")
    if result.health_report:
        console.print(f"health report: {result.health_report}")
    store = shown_uri(result.tracking_uri)  # never a password in job logs
    console.print(f"MLflow run: {result.mlflow_run_id}  (store: {store})")
    console.print(f"            mlflow ui --backend-store-uri {store}")


def show_tuning(result, top: int = 10) -> None:
    """The leaderboard (best first), the best configuration and where its model is."""
    console.rule(f"[bold]tuning job: {result.run_name}")
    keys = sorted({k for row in result.leaderboard for k in row["config"]})
    board = Table(
        "rank",
        "trial",
        "source",
        "objective",
        "epochs",
        "early stop",  # "yes" (the scheduler) or the health rule that ended the trial
        *keys,
        title=f"leaderboard (top {top} of {len(result.leaderboard)})",
    )
    for rank, row in enumerate(result.leaderboard[:top], start=1):
        board.add_row(
            str(rank),
            str(row["trial"]),
            row["source"],
            _fmt(row["objective"]),
            str(row["epochs"]),
            row.get("stopped_by_rule") or ("yes" if row["stopped_early"] else ""),
            *[_fmt(row["config"].get(k)) for k in keys],
        )
    console.print(board)
    console.print(f"best objective {result.best_objective:.4f} with {result.best_config}")
    console.print(
        "best model test metrics: " + ", ".join(f"{k}={v:.4f}" for k, v in result.metrics.items())
    )
    console.print(f"artifact:   {result.artifact_path}")
    console.print(f"plot:       {result.plot_path}")
    console.print(f"MLflow run: {result.mlflow_run_id} (one child run per trial)")


def _history_keys(result: TrainResult) -> list[str]:
    keep = (
        "train_loss",
        "val_loss",
        "val_accuracy",
        "valid_logloss",
        "valid_mlogloss",
        "valid_rmse",
        "epoch_time_s",
    )
    present = {k for row in result.history for k in row}
    return [k for k in keep if k in present]


def _fmt(value) -> str:
    return "" if value is None else f"{value:.4f}" if isinstance(value, float) else str(value)
