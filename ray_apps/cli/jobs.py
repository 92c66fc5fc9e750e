"""``raymaker train`` and ``raymaker tune``: run a job file on Ray and print its result.

raymaker train --config examples/train_mlp.yaml
raymaker train --resume <run-name>
raymaker train --config examples/train_mlp.yaml --preflight   # the checks only, no training
raymaker tune --config examples/tune_xgboost.yaml
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ray_apps.errors import SpecError

Storage = Annotated[str | None, typer.Option(help="run storage path or URI")]


def attach(app: typer.Typer) -> None:
    app.command()(train)
    app.command()(tune)


def train(
    config: Annotated[Path | None, typer.Option(help="training job YAML")] = None,
    resume: Annotated[
        str | None, typer.Option(help="continue this run from its checkpoint")
    ] = None,
    storage: Storage = None,
    preflight: Annotated[
        bool,
        typer.Option(
            help="only check workers, devices, an all-reduce, the data and storage; no training"
        ),
    ] = False,
) -> None:
    """Train a model on Ray Train as the job YAML describes."""
    from ray_apps.cli.console import show_training
    from ray_apps.training import run_training

    if preflight:
        from ray_apps.training.preflight import check_job
        from ray_apps.training.runner import as_train_spec

        if config is None:
            raise SpecError("--preflight checks a job: give --config <job.yaml>")
        report = check_job(as_train_spec(str(config)))
        print(report if isinstance(report, str) else report.line, flush=True)
        return
    if config is None and resume is None:
        raise SpecError("give --config <job.yaml>, or --resume <run> to continue a run")
    result = run_training(str(config) if config else None, resume=resume, storage=storage)
    show_training(result)


def tune(
    config: Annotated[Path | None, typer.Option(help="tuning job YAML")] = None,
    resume: Annotated[str | None, typer.Option(help="continue this tuning job")] = None,
    storage: Storage = None,
) -> None:
    """Tune hyperparameters on Ray Tune as the job YAML describes."""
    from ray_apps.cli.console import show_tuning
    from tuning import run_tuning

    if config is None and resume is None:
        raise SpecError("give --config <tune.yaml>, or --resume <run> to continue a tuning job")
    result = run_tuning(str(config) if config else None, resume=resume, storage=storage)
    show_tuning(result)
