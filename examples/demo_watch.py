"""The watching part of the raymaker demo, on the endpoint ``demo_serving`` deployed.

Shifted traffic goes to the served model (capture on), its ground truth is posted to the
labels route, a one-shot monitor judges that window (the alert: which columns drifted, where
the report is), three predictions are explained over HTTP (their top SHAP features), and the
offline evaluation of the version on the test split is summarised. ``serve_demo`` calls
``watch_demo`` while the endpoint is up.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pandas as pd
from rich.console import Console

from ray_apps import read_capture
from ray_apps.data import load_dataset
from ray_apps.spec import DatasetSpec

console = Console(soft_wrap=True, highlight=False)
SHIFTED = {"mean_texture": 1.0, "mean_smoothness": 1.0}  # in training standard deviations
ROWS_PER_REQUEST = 5


def say(*parts) -> None:
    console.print(*parts, markup=False)


def watch_demo(url: str, auth: dict, model: str, version: int, capture: Path) -> None:
    console.rule("[bold]watching: shifted traffic, monitor, explanations, evaluation")
    data = load_dataset(DatasetSpec(source="sklearn:breast_cancer"))
    rows = data.test.reset_index(drop=True)
    for column, stds in SHIFTED.items():
        rows[column] = rows[column] + stds * data.train[column].std()
    features = data.feature_names
    since = datetime.now(UTC)
    with httpx.Client(base_url=url, timeout=60) as http:
        labels = _send(http, auth, model, rows, features, data.label)
        say(
            f"traffic    {len(rows)} rows in {-(-len(rows) // ROWS_PER_REQUEST)} requests, "
            f"{' and '.join(SHIFTED)} shifted by +1 training std"
        )
        _wait_for_capture(capture, model, version, since, len(rows))
        posted = http.post(f"v1/models/{model}/labels", headers=auth, json={"labels": labels})
        answer = posted.json()
        say(
            f"labels     POST v1/models/{model}/labels → {posted.status_code} "
            f"accepted {answer['accepted']}, unmatched {answer['unmatched']}"
        )
        _monitor(model, version, capture, since)
        _explain(http, auth, model, rows[features].head(3))
    _evaluate(model, version)


def _send(http, auth, model, rows: pd.DataFrame, features, label: str) -> list[dict]:
    """Send the rows a few per request; the ground truth of each row, by request id."""
    labels = []
    for start in range(0, len(rows), ROWS_PER_REQUEST):
        part = rows.iloc[start : start + ROWS_PER_REQUEST]
        r = http.post(
            f"v1/models/{model}:predict",
            headers=auth,
            json={"instances": part[features].to_numpy().tolist()},
        )
        r.raise_for_status()
        rid = r.headers["x-request-id"]
        labels += [
            {"request_id": rid, "row": i, "label": int(y)} for i, y in enumerate(part[label])
        ]
    return labels


def _wait_for_capture(capture: Path, model: str, version: int, since, n: int) -> None:
    """The replicas flush captured records every couple of seconds: wait until all are in."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if len(read_capture(capture, model, version=version, since=since)) >= n:
            return
        time.sleep(0.5)
    raise RuntimeError(f"the {n} captured rows did not reach {capture} within 60 s")


def _monitor(model: str, version: int, capture: Path, since: datetime) -> None:
    from ray_apps.monitoring import run_monitor

    # The monitor logs its verdict and each violation; the demo prints them itself.
    logging.getLogger("raymaker.monitor").setLevel(logging.ERROR)
    spec = {
        "model": f"{model}:{version}",
        "current": {"capture": str(capture), "since": since, "until": datetime.now(UTC)},
    }
    result = run_monitor(spec)
    s, verdict = result.summary, result.verdict
    say(f"monitor    {result.line}")
    if verdict.violations:
        say(f"ALERT      drift in {s.drifted_columns} (exit code {int(result.exit_code)})")
    report = "report.html" if result.html else "summary.json"
    say(f"report     {result.report_dir}/{report}")


def _explain(http, auth, model: str, rows: pd.DataFrame) -> None:
    r = http.post(
        f"v1/models/{model}:explain", headers=auth, json={"instances": rows.to_numpy().tolist()}
    )
    r.raise_for_status()
    body = r.json()
    say(
        f"explain    POST v1/models/{model}:explain → {r.status_code} ({body['method']} SHAP, "
        f"{body['margin_kind']}; expected value {body['expected_value']:.3f})"
    )
    for i, (pred, values, margin) in enumerate(
        zip(body["predictions"], body["explanations"], body["margins"], strict=True)
    ):
        top = sorted(values.items(), key=lambda kv: -abs(kv[1]))[:3]
        shown = ", ".join(f"{f} {v:+.2f}" for f, v in top)
        say(f"  row {i}: predicted {pred} (margin {margin:+.2f}); top features {shown}")


def _evaluate(model: str, version: int) -> None:
    from ray_apps.evaluation import run_evaluation

    result = run_evaluation(
        {
            "model": f"{model}:{version}",
            "data": {"source": "sklearn:breast_cancer"},
            "slices": {"columns": ["mean_radius"], "bins": 3},
            "robustness": {"noise": [0.5]},
            "thresholds": {"min": {"accuracy": 0.9}},
        }
    )
    r = result.report
    say(f"evaluate   {result.line}")
    if r.worst_slices:
        w = r.worst_slices[0]
        say(f"           worst slice {w.column}={w.slice} ({w.size} rows): "
            f"{r.metric} {w.metrics[r.metric]:.3f}")  # fmt: skip
    if r.calibration is not None:
        say(f"           calibration: Brier {r.calibration.brier:.4f}, "
            f"ECE {r.calibration.expected_error:.4f}")  # fmt: skip
    if r.robustness is not None:
        for lv in r.robustness.levels:
            say(f"           noise {lv.noise:g} std: {r.metric} {lv.value:.3f}")
    say(f"           report {result.report_dir}")
