"""``raymaker runs show <run>``: a training run's state from its run log — attempts, the last
epochs, the newest checkpoint, the health rules that fired and where its health report is
(what ``raymaker train`` printed, readable again after the console is gone).

raymaker runs show cancer-xgb-20261203-101500-abc123 [--storage s3://bucket/runs] [--json]
"""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from ray_apps.cli.console import console

runs_app = typer.Typer(
    add_completion=False, no_args_is_help=True, help="Training runs: state, epochs, health."
)


def attach(app: typer.Typer) -> None:
    app.add_typer(runs_app, name="runs")


@runs_app.command("show")
def show(
    run: Annotated[str, typer.Argument(help="run name (as printed at its start) or folder")],
    storage: Annotated[str | None, typer.Option(help="run storage path or URI")] = None,
    last: Annotated[int, typer.Option(help="epochs to show, newest last")] = 5,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """A run's state, attempts, last epochs, newest checkpoint and fired health rules."""
    from ray_apps import settings
    from ray_apps.training import find_run_folder

    _, folder = find_run_folder(run, [storage or settings.storage_path()], "spec", "run")
    log = folder.log
    history, fired = log.history(), log.health_findings()
    state = log.state() or {}
    summary = {
        "run": folder.name,
        "run_dir": folder.run_dir,
        "state": state.get("state") or ("finished" if _packaged(folder) else "unfinished"),
        "attempts": log.attempts(),
        "epochs_done": max((h["epoch"] for h in history), default=0),
        "last_checkpoint": log.last_checkpoint(),
        "health": fired,
        "health_report": log.health_report(),
        "history": history[-last:] if last > 0 else [],
    }
    if as_json:
        print(json.dumps(summary, default=str))
        return
    console.rule(f"[bold]run {folder.name}")
    console.print(f"state:      {summary['state']}" + _why(state))
    starts = ", ".join(str(a["start_epoch"]) for a in summary["attempts"]) or "-"
    console.print(f"attempts:   {len(summary['attempts'])} (started at epoch(s) {starts})")
    ckpt = summary["last_checkpoint"]
    shown = f"{ckpt['name']} (epoch {ckpt['epoch']})" if ckpt else "-"
    console.print(f"checkpoint: {shown}")
    if fired:
        rules = Table("rule", "epoch", "value", "actions", "message", title="health rules fired")
        for f in fired:
            rules.add_row(
                f["rule"],
                str(f["epoch"]),
                str(f.get("value")),
                ", ".join(f["actions"]),
                f["message"],
            )
        console.print(rules)
    else:
        console.print("health:     no rule fired")
    if summary["health_report"]:
        console.print(f"health report: {summary['health_report']}")
    if summary["history"]:
        keys = [
            k for k in ("train_loss", "val_loss", "epoch_time_s") if k in summary["history"][-1]
        ]
        epochs = Table("epoch", *keys, title=f"last {len(summary['history'])} epoch(s)")
        for h in summary["history"]:
            epochs.add_row(str(h["epoch"]), *[f"{h[k]:.4g}" for k in keys])
        console.print(epochs)


def _packaged(folder) -> bool:
    import fsspec

    fs, root = fsspec.core.url_to_fs(f"{folder.run_dir}/artifact")
    return fs.exists(root)


def _why(state: dict) -> str:
    if not state:
        return ""
    return f" ({state.get('rule')} at epoch {state.get('epoch')}: {state.get('message')})"
