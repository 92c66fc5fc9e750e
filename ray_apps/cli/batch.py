"""``raymaker batch``: score a dataset with a registered model (batch transform on Ray Data).

raymaker batch --config batch.yaml
raymaker batch --resume <run-name>
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ray_apps.errors import SpecError


def attach(app: typer.Typer) -> None:
    app.command()(batch)


def batch(
    config: Annotated[Path | None, typer.Option(help="batch job YAML")] = None,
    resume: Annotated[
        str | None, typer.Option(help="finish this run: skip its committed units")
    ] = None,
    storage: Annotated[
        str | None, typer.Option(help="run storage to resume from (the job's output:)")
    ] = None,
) -> None:
    """Score a CSV/Parquet input with a registered model; one output part per unit."""
    from ray_apps.batch import run_batch

    if config is None and resume is None:
        raise SpecError("give --config <batch.yaml>, or --resume <run> to finish a batch run")
    result = run_batch(str(config) if config else None, resume=resume, storage=storage)
    s = result.summary
    print(f"[raymaker] model {s.model['name']}:{s.model['version']}; output {result.output_dir}")
    if s.rows_rejected:
        print(f"[raymaker] rejects {result.rejects_dir}: {s.rejected_by_reason}")
    print(s.line(), flush=True)
