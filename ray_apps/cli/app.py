"""The root ``raymaker`` app: its command groups, and one mapping of errors to exit codes.

Errors print one line and exit 2 for bad input (spec, data, unknown run), 1 for failures.
"""

from __future__ import annotations

import sys

import typer

from ray_apps.cli import (
    batch,
    bias,
    deploy,
    devservers,
    evaluate,
    explain,
    jobs,
    local_cluster,
    monitor,
    pipeline,
    registry,
    runs,
    submit,
    traffic,
    web_console,
)
from ray_apps.errors import RaymakerError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="raymaker: train, tune, serve and watch ML models on Ray.",
)


@app.callback()
def _root() -> None:
    """raymaker: train, tune, serve and watch ML models on Ray."""


jobs.attach(app)  # raymaker train, raymaker tune
registry.attach(app)  # raymaker registry …
deploy.attach(app)  # raymaker deploy
batch.attach(app)  # raymaker batch
monitor.attach(app)  # raymaker monitor
bias.attach(app)  # raymaker bias
evaluate.attach(app)  # raymaker evaluate
explain.attach(app)  # raymaker explain
submit.attach(app)  # raymaker submit (a job on a Ray cluster)
devservers.attach(app)  # raymaker dev-servers (local S3 + PostgreSQL)
traffic.attach(app)  # raymaker traffic …, raymaker rollout …
pipeline.attach(app)  # raymaker pipeline …
runs.attach(app)  # raymaker runs show
web_console.attach(app)  # raymaker console (the web console)
local_cluster.attach(app)  # raymaker up, raymaker down (a warm local Ray)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: run the app, mapping raymaker errors to one line + exit code."""
    try:
        # Without standalone mode click returns a command's typer.Exit code instead of exiting.
        code = app(args=argv, standalone_mode=False)
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
    if isinstance(code, int) and code:
        sys.exit(code)


def run_job(command: str) -> None:
    """What ``python -m ray_apps.<job>`` runs: ``raymaker <command>`` with the process's args."""
    main([command, *sys.argv[1:]])
