"""``raymaker submit``: run a job on a Ray cluster and return its exit status.

raymaker submit train --config examples/train_mlp.yaml --address http://head:8265
raymaker submit deploy --config endpoint.yaml --address http://head:8265 --no-wait

Uploads the working directory (without .venv, raymaker_data, mlruns, .git), sends the Ray token
(RAY_AUTH_TOKEN, RAY_AUTH_TOKEN_PATH or ~/.ray/auth_token), forwards RAYMAKER_STORAGE and
MLFLOW_TRACKING_URI, streams the job's logs. A head still starting (right after ``ray start``)
is retried for --retry-for seconds (60). Exit: the job's own (0 done, 1 failed, 2 bad input).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ray_apps.submission import RETRY_S


def attach(app: typer.Typer) -> None:
    app.command(
        "submit",
        context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    )(submit)


def submit(
    ctx: typer.Context,
    job: Annotated[
        str, typer.Argument(help="train | tune | batch | monitor | explain | evaluate | deploy")
    ],
    config: Annotated[Path, typer.Option(help="the job's YAML, inside --working-dir")],
    address: Annotated[
        str,
        typer.Option(
            envvar="RAY_API_SERVER_ADDRESS", help="the cluster's dashboard, http://head:8265"
        ),
    ],
    working_dir: Annotated[Path, typer.Option(help="uploaded as the job's working dir")] = Path(
        "."
    ),
    wait: Annotated[
        bool, typer.Option("--wait/--no-wait", help="stream logs until the job ends")
    ] = True,
    retry_for: Annotated[
        float,
        typer.Option(
            min=0,
            help="seconds to retry while the head is still starting (refusing connections, "
            "or without its job agent yet)",
        ),
    ] = RETRY_S,
) -> None:
    """Submit a raymaker job to a Ray cluster; extra arguments go to the job."""
    from ray_apps.submission import submit as submit_job

    code = submit_job(
        job,
        config,
        address,
        working_dir=working_dir,
        wait=wait,
        extra_args=list(ctx.args),
        retry_s=retry_for,
    )
    if code:
        raise typer.Exit(code)
