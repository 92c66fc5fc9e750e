"""``raymaker bias``: Clarify's bias metrics of a model version per group of a sensitive column.

raymaker bias cancer:3 --dataset test.parquet --sensitive sex --positive-label 1
raymaker bias cancer:3 --dataset test.parquet --sensitive age --bins 30,50
raymaker bias cancer:3 --last 1d --sensitive region --labels labels.csv   # captured traffic
raymaker bias --config bias.yaml

Options override the config file's fields. Prints a table (a row per group against the rest)
and the report folder; exit 0 when written, 2 on bad input, 1 on failure.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from ray_apps.errors import SpecError


def attach(app: typer.Typer) -> None:
    app.command()(bias)


def bias(
    model: Annotated[
        str | None, typer.Argument(help='"name:version" (or "name": newest Approved)')
    ] = None,
    config: Annotated[Path | None, typer.Option(help="bias job YAML")] = None,
    sensitive: Annotated[str | None, typer.Option(help="the sensitive column")] = None,
    positive_label: Annotated[
        str | None, typer.Option(help="the favourable class (default: 2nd of two)")
    ] = None,
    bins: Annotated[
        str | None, typer.Option(help="bin edges of a numeric sensitive column: 30,50")
    ] = None,
    dataset: Annotated[str | None, typer.Option(help="CSV/Parquet with features, label")] = None,
    label: Annotated[str | None, typer.Option(help="label column of the dataset")] = None,
    labels: Annotated[
        str | None, typer.Option(help="CSV/Parquet of request_id,label (captured traffic)")
    ] = None,
    since: Annotated[str | None, typer.Option(help="window start, ISO 8601 (UTC)")] = None,
    until: Annotated[str | None, typer.Option(help="window end (exclusive); default now")] = None,
    last: Annotated[str | None, typer.Option(help="window = the last 15m / 1h / 1d")] = None,
    capture: Annotated[str | None, typer.Option(help="capture root")] = None,
    artifact: Annotated[str | None, typer.Option(help="use this artifact folder")] = None,
    output: Annotated[str | None, typer.Option(help="reports root, path or URI")] = None,
    html: Annotated[bool, typer.Option(help="also write bias.html")] = True,
) -> None:
    """Class imbalance, DPL, disparate impact, DPPL, accuracy/recall/FPR/FNR differences."""
    from ray_apps.bias import parse_bias_spec, run_bias
    from ray_apps.bias.report import table_lines
    from ray_apps.monitoring.schedule import parse_duration
    from ray_apps.spec import load_yaml

    now = datetime.now(UTC)
    data: dict[str, Any] = load_yaml(config) if config else {}
    window = dict(data.get("data") or {})
    if last is not None:
        if since is not None or until is not None:
            raise SpecError("--last ends the window now: give --last, or --since/--until")
        window.update(
            since=(now - parse_duration(last, "--last")).isoformat(), until=now.isoformat()
        )
    options = {"since": since, "until": until, "dataset": dataset, "capture": capture}
    window.update({k: v for k, v in options.items() if v is not None})
    data = {**data, "data": window}
    fields = {"model": model, "artifact": artifact, "output": output, "sensitive": sensitive}
    fields |= {"label": label, "positive_label": positive_label}
    data.update({k: v for k, v in fields.items() if v is not None})
    if bins is not None:
        data["bins"] = _edges(bins)
    if labels is not None:
        data["labels"] = {**(data.get("labels") or {}), "path": labels}
    if not html:
        data["html"] = False
    if "model" not in data:
        raise SpecError("name the model version: raymaker bias <name:version> --sensitive <col>")
    spec = parse_bias_spec(data, source=str(config) if config else "raymaker bias")
    result = run_bias(spec, now=now)
    r = result.report
    print(
        f"[raymaker] bias of {r.model}:{r.version} by {r.sensitive!r} (positive label "
        f"{r.positive_label!r}; {r.rows} rows, {r.labelled_rows} labelled; each group vs the rest)"
    )
    for line in table_lines(r):
        print(line)
    print(f"[raymaker] report {result.report_dir}", flush=True)


def _edges(text: str) -> list[float]:
    try:
        return [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise SpecError(f"--bins {text!r}: give numbers separated by commas, e.g. 30,50") from None
