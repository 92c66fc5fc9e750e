"""Runs: training runs' loss curves and health-rule verdicts (with their health report), and
tuning jobs' leaderboards with the tuning plot."""

from __future__ import annotations

from typing import Any

from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from console.context import context_of
from console.guard import page
from console.readers.files import png, sandboxed_html
from console.readers.runs import RunDetail, list_runs, load_run
from console.render import render
from ray_apps.charts import Lane, Series, lanes_chart, line_chart
from ray_apps.errors import NotFoundError

LOSSES = ("train_loss", "val_loss", "valid_logloss", "valid_mlogloss", "valid_rmse")
SCORES = ("val_accuracy",)


@page()
def runs_index(request: Request) -> Response:
    return render(request, "runs.html", runs=list_runs(context_of(request).places.storage))


@page()
def run_detail(request: Request) -> Response:
    run = load_run(context_of(request).places.storage, request.path_params["name"])
    return render(
        request,
        "run.html",
        run=run,
        charts=charts(run),
        verdicts=verdicts(run),
        board_keys=sorted({k for row in run.leaderboard for k in row.get("config", {})}),
    )


@page()
def health_report(request: Request) -> Response:
    run = load_run(context_of(request).places.storage, request.path_params["name"])
    if not run.health_report:
        raise NotFoundError(f"run {run.summary.name} has no health report (no health: section)")
    return sandboxed_html(run.health_report, "health report")


@page()
def tuning_plot(request: Request) -> Response:
    run = load_run(context_of(request).places.storage, request.path_params["name"])
    if not run.plot:
        raise NotFoundError(f"run {run.summary.name} has no tuning plot")
    return png(run.plot)


def charts(run: RunDetail) -> list[tuple[str, Markup]]:
    """(title, inline SVG): the losses, the scores, and each health rule's lane."""
    epochs = [float(r["epoch"]) for r in run.history]
    if not epochs:
        return []
    span = (min(epochs), max(epochs))
    out = []
    for title, keys in (("Loss", LOSSES), ("Validation accuracy", SCORES)):
        series = [_series(run.history, k) for k in keys if any(k in r for r in run.history)]
        if series:
            out.append((title, Markup(line_chart(series, label=title, x_range=span))))
    rules = run.rules or sorted({f.get("rule", "?") for f in run.findings})
    if rules:
        lanes = [
            Lane(
                rule,
                [(float(f["epoch"]), _title(f)) for f in run.findings if f.get("rule") == rule],
            )
            for rule in rules
        ]
        out.append(("Health rules", Markup(lanes_chart(lanes, span, label="Health rules"))))
    return out


def verdicts(run: RunDetail) -> list[dict[str, Any]]:
    """One row per rule: ok, or where it fired first, how often and what it did."""
    rules = run.rules or sorted({f.get("rule", "?") for f in run.findings})
    rows = []
    for rule in rules:
        fired = [f for f in run.findings if f.get("rule") == rule]
        first = fired[0] if fired else None
        rows.append(
            {
                "rule": rule,
                "verdict": "fired" if fired else "ok",
                "times": len(fired),
                "epoch": first and first.get("epoch"),
                "actions": ", ".join(first.get("actions", [])) if first else "",
                "message": first.get("message", "") if first else "",
            }
        )
    return rows


def _series(history: list[dict[str, Any]], key: str) -> Series:
    points = [(float(r["epoch"]), float(r[key])) for r in history if _number(r.get(key))]
    return Series(key, points)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _title(finding: dict[str, Any]) -> str:
    return f"epoch {finding.get('epoch')}: {finding.get('message', '')}"


routes = [
    Route("/runs", runs_index),
    Route("/runs/{name}", run_detail),
    Route("/runs/{name}/health_report", health_report),
    Route("/runs/{name}/tuning.png", tuning_plot),
]
