"""``raymaker explain``: SHAP values of a model version over a dataset, on Ray Data.

raymaker explain cancer:3 --dataset test.parquet --rows 500
raymaker explain cancer:3 --artifact artifacts/cancer --dataset test.parquet
raymaker explain --config explain.yaml

Options override the config file's fields. Prints the most important features and the report
folder (shap_values.parquet, importance.json, summary.png); exit 0 when written, 2 on bad
input, 1 on failure.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from ray_apps.errors import SpecError

SHOWN = 5


def attach(app: typer.Typer) -> None:
    app.command()(explain)


def explain(
    model: Annotated[
        str | None, typer.Argument(help='"name:version" (or "name": newest Approved)')
    ] = None,
    config: Annotated[Path | None, typer.Option(help="explain job YAML")] = None,
    dataset: Annotated[str | None, typer.Option(help="CSV/Parquet with the features")] = None,
    rows: Annotated[int | None, typer.Option(help="explain the first N rows")] = None,
    artifact: Annotated[str | None, typer.Option(help="use this artifact folder")] = None,
    concurrency: Annotated[int | None, typer.Option(help="explainer actors")] = None,
    output: Annotated[str | None, typer.Option(help="reports root")] = None,
    plot: Annotated[bool, typer.Option(help="also write summary.png")] = True,
) -> None:
    """Per-row SHAP values, global importance (mean |SHAP|) and a summary plot."""
    from ray_apps.explain import parse_explain_spec, run_explain
    from ray_apps.spec import load_yaml

    data: dict[str, Any] = load_yaml(config) if config else {}
    fields = {"model": model, "dataset": dataset, "rows": rows, "artifact": artifact}
    fields |= {"concurrency": concurrency, "output": output}
    data.update({k: v for k, v in fields.items() if v is not None})
    if not plot:
        data["plot"] = False
    if "model" not in data:
        raise SpecError("name the model version: raymaker explain <name:version> --dataset <path>")
    spec = parse_explain_spec(data, source=str(config) if config else "raymaker explain")
    result = run_explain(spec)
    print(
        f"[raymaker] explained {result.rows} rows of {spec.dataset} with {spec.model} "
        f"({result.method} SHAP, {result.seconds:.1f} s)"
    )
    for out, ranked in result.importance.items():
        top = ", ".join(f"{f} {v:.3g}" for f, v in list(ranked.items())[:SHOWN])
        print(f"  {out}: mean |SHAP| {top}")
    print(f"[raymaker] report {result.output_dir}", flush=True)
