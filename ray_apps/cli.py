"""The ``raymaker`` command line. Each command calls the same function a notebook calls.

    raymaker train --config examples/train_mlp.yaml
    raymaker train --resume <run-name>
    raymaker tune --config examples/tune_xgboost.yaml

Errors print one line and exit 2 for bad input (spec, data, unknown run), 1 for failures.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from ray_apps._cli_serving import register_commands
from ray_apps.errors import RaymakerError

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__.split("\n")[0])


@app.callback()
def _root() -> None:
    """raymaker: train, tune, serve and watch ML models on Ray."""


@app.command()
def train(
    config: Annotated[Path | None, typer.Option(help="training job YAML")] = None,
    resume: Annotated[
        str | None, typer.Option(help="continue this run from its checkpoint")
    ] = None,
    storage: Annotated[str | None, typer.Option(help="run storage path or URI")] = None,
) -> None:
    """Train a model on Ray Train as the job YAML describes."""
    from ray_apps.console import show_training
    from ray_apps.errors import SpecError
    from ray_apps.training import run_training

    if config is None and resume is None:
        raise SpecError("give --config <job.yaml>, or --resume <run> to continue a run")
    result = run_training(str(config) if config else None, resume=resume, storage=storage)
    show_training(result)


@app.command()
def tune(
    config: Annotated[Path | None, typer.Option(help="tuning job YAML")] = None,
    resume: Annotated[str | None, typer.Option(help="continue this tuning job")] = None,
    storage: Annotated[str | None, typer.Option(help="run storage path or URI")] = None,
) -> None:
    """Tune hyperparameters on Ray Tune as the job YAML describes."""
    from ray_apps.console import show_tuning
    from ray_apps.errors import SpecError
    from tuning import run_tuning

    if config is None and resume is None:
        raise SpecError("give --config <tune.yaml>, or --resume <run> to continue a tuning job")
    result = run_tuning(str(config) if config else None, resume=resume, storage=storage)
    show_tuning(result)


register_commands(app)  # raymaker registry …, raymaker deploy


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: run the app, mapping raymaker errors to one line + exit code."""
    try:
        app(args=argv, standalone_mode=False)
    except RaymakerError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(err.exit_code)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        sys.exit(130)
    except typer.TyperException as exc:  # usage errors: unknown option, missing value (exit 2)
        exc.show()
        sys.exit(getattr(exc, "exit_code", 2))


if __name__ == "__main__":
    main()
