"""``run_monitor``: judge one window of a model version's data against its training baseline.

    from ray_apps.monitoring import run_monitor
    result = run_monitor("monitor.yaml")            # or a dict / MonitorJobSpec
    result.verdict.status, result.verdict.violations
    result.summary.drifted_columns, result.report_dir

Top to bottom: resolve the version and fetch its artifact (checksums checked) → baseline rows
and statistics → the window's rows → drift per feature and of the prediction (Evidently's
tests; on Ray, a group of columns per CPU, for windows of ``ray_min_rows`` rows or more) and
data quality → ``decide`` → reports → alerts. A run reads, never changes, the
registry and the capture.

The reports of a window land in ``<output>/model=<m>/version=<v>/window=<since>--<until>/``:
``report.html`` (Evidently's) and ``summary.json`` (the summary and the verdict), the latter
written last, so a scheduler can take its presence as "this window was checked" and call
``run_monitor`` once per window. ``<output>`` is ``spec.output`` (a path or a URI) or
``$RAYMAKER_HOME/monitor``, an absolute path: a job submitted with ``ray job submit
--working-dir`` does not leave its reports in a working directory Ray deletes.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from ray_apps import settings
from ray_apps._staging import staged
from ray_apps.artifact import Model
from ray_apps.capture.labels import has_labels, labels_folder
from ray_apps.monitoring import _evidently
from ray_apps.monitoring.alerts import ExitCode, Verdict, decide
from ray_apps.monitoring.baseline import baseline_stats, read_baseline
from ray_apps.monitoring.delivery import (
    Delivery,
    alert_payload,
    log_line,
    post_webhook,
    webhook_secret,
    webhook_url,
    write_gauges,
)
from ray_apps.monitoring.drift_on_ray import column_drift_on_ray
from ray_apps.monitoring.labels import ModelQuality, join_labels, model_quality, read_labels
from ray_apps.monitoring.quality import check_quality
from ray_apps.monitoring.spec import CurrentData, LabelsSpec, MonitorJobSpec, parse_monitor_spec
from ray_apps.monitoring.summary import MonitorSummary
from ray_apps.monitoring.window import WindowRows, default_capture_root, read_window
from ray_apps.registry import load_version, parse_ref

log = logging.getLogger("raymaker.monitor")


@dataclass(frozen=True)
class MonitorResult:
    summary: MonitorSummary
    verdict: Verdict
    report_dir: str  # the window's folder (a path or a URI)
    html: bool  # whether report.html was written
    line: str  # the one-line outcome
    delivery: Delivery | None = None  # the webhook POST, when there was one

    @property
    def exit_code(self) -> ExitCode:
        if self.delivery is not None and not self.delivery.delivered:
            return ExitCode.VIOLATION_UNDELIVERED
        return self.verdict.exit_code


def run_monitor(
    spec: MonitorJobSpec | dict | str | Path, *, now: datetime | None = None
) -> MonitorResult:
    """Run one monitor over one window; never exits (the CLI maps ``exit_code``)."""
    spec = parse_monitor_spec(spec)
    now = now or datetime.now(UTC)
    model, version = load_version(
        spec.model, artifact=spec.artifact, tracking_uri=spec.tracking_uri
    )
    features = model.info.feature_names
    rows = read_window(spec.current, parse_ref(spec.model)[0], version, features, now)
    summary, reference, current = _observe(spec, model, version, rows)
    verdict = decide(summary, spec.thresholds, now)
    return _report(spec, summary, verdict, reference, current, now)


def reports_root(spec: MonitorJobSpec) -> str:
    """Where the reports of ``spec`` go: ``output`` or ``$RAYMAKER_HOME/monitor``."""
    return spec.output or str(
        settings.home("monitor reports", "the spec's output: (or RAYMAKER_HOME)") / "monitor"
    )


def _observe(
    spec: MonitorJobSpec, model: Model, version: str, rows: WindowRows
) -> tuple[MonitorSummary, pd.DataFrame, pd.DataFrame]:
    stats = baseline_stats(model.path)
    features = stats.names
    reference = read_baseline(model.path)[features].copy()
    current = rows.frame
    quality = check_quality(current, stats)  # also refuses a window without the features
    current = current[[*features, *(["prediction"] if "prediction" in current else [])]].copy()
    kinds = stats.kinds()
    n_tests = len(kinds) + 1  # features and the prediction: one family of tests
    p_value = spec.thresholds.drift_alpha / n_tests
    columns, prediction, pred_source = [], None, "none"
    if len(current) >= spec.thresholds.min_rows:
        reference["prediction"] = _labels(model.predict(reference[features]), model)
        pred_source = "captured" if _has_predictions(current) else "computed"
        if pred_source == "computed":
            current["prediction"] = model.predict(current[features])
        current["prediction"] = _labels(current["prediction"], model)
        pred_kind = "categorical" if model.info.task == "classification" else "numeric"
        large = spec.ray_min_rows is not None and len(current) >= spec.ray_min_rows
        drifts = (column_drift_on_ray if large else _evidently.column_drift)(
            reference,
            current,
            {**kinds, "prediction": pred_kind},
            p_value=p_value,
            distance=spec.thresholds.drift_distance,
        )
        columns, prediction = drifts[:-1], drifts[-1]
    scored = None
    labels = spec.labels or _posted_labels(spec.current, parse_ref(spec.model)[0])
    if labels is not None:
        scored = _model_quality(labels, spec.current, model, rows.frame, current)
    summary = MonitorSummary(
        model=parse_ref(spec.model)[0],
        version=version,
        window=rows.window,
        rows=len(current),
        failed_rows=rows.failed_rows,
        reference_rows=len(reference),
        reference_source=stats.source,
        p_value_threshold=p_value,
        columns=columns,
        prediction=prediction,
        prediction_source=pred_source,
        quality=quality,
        model_quality=scored,
    )
    return summary, reference, current


def _posted_labels(data: CurrentData, model: str) -> LabelsSpec | None:
    """Labels posted to the endpoint (``POST /v1/models/{name}/labels``) of a captured window."""
    if data.dataset is not None:
        return None
    root = data.capture or str(default_capture_root())
    if "://" in root or not has_labels(root, model):
        return None
    return LabelsSpec(path=str(labels_folder(root, model)))


def _model_quality(
    spec: LabelsSpec, data: CurrentData, model: Model, window: pd.DataFrame, current: pd.DataFrame
) -> ModelQuality:
    """The window's predictions against the labels that arrived for its requests."""
    labels = join_labels(window, read_labels(spec.path, spec.label), data.dataset or "capture")
    if "prediction" in current:
        predictions = current["prediction"]
    elif len(current):  # under min_rows no drift test predicted; the labels still count
        predictions = _labels(model.predict(current[model.info.feature_names]), model)
    else:
        predictions = pd.Series([], dtype=object)
    info = model.info
    return model_quality(info.task, info.classes, predictions, labels, model.metrics, spec.path)


def _has_predictions(frame: pd.DataFrame) -> bool:
    return "prediction" in frame and bool(frame["prediction"].notna().all())


def _labels(values, model: Model) -> pd.Series:
    """Predictions as comparable values: class labels as text (an integer label read back as
    Int64 or float compares equal to the model's own), regression values as floats."""
    s = pd.Series(values).reset_index(drop=True)
    if model.info.task != "classification":
        return s.astype("float64")
    if pd.api.types.is_numeric_dtype(s) and bool(np.all(s.dropna() == np.round(s.dropna()))):
        s = s.astype("Int64")
    return s.astype(str)


def _evidently_outputs(
    spec: MonitorJobSpec,
    summary: MonitorSummary,
    verdict: Verdict,
    reference: pd.DataFrame,
    current: pd.DataFrame,
    local: Path,
    html: bool,
) -> None:
    """One Evidently report run (its plots cost seconds): the HTML page, the workspace run.

    Evidently's ``Report`` computes its own statistics and draws every column, at ~85 s for a
    million rows of 31 columns (13 s at 100k) on the 2-core development machine; a window
    larger than ``report_rows`` is shown by a seeded sample of that many rows, and the page
    says so in its name and tags. The verdicts that alert (``summary.json``) were computed on
    all rows. The page's own scores agree with them but near the threshold: with a baseline of
    at most 1,000 reference rows the tests' power is bounded by the reference (K-S's effective
    size ``m·n/(m+n)`` at a 50,000-row sample is 98 % of its full-window value), and a
    sample's K-S distance is within ~0.006 of the window's (DKW, 95 %)."""
    drifts = [*summary.columns, *([summary.prediction] if summary.prediction else [])]
    w = summary.window
    name, tags, note = f"{summary.model}:{summary.version} {w.key}", [], None
    if len(current) > spec.report_rows:
        current = current.sample(spec.report_rows, random_state=0).sort_index()
        name += f" (sample of {spec.report_rows:,} of {summary.rows:,} rows)"
        tags = [f"sample={spec.report_rows}/{summary.rows}"]
        note = (
            f"This report shows a seeded sample of {spec.report_rows:,} of the window's "
            f"{summary.rows:,} rows; the drift verdicts and alerts in summary.json were "
            "computed on all rows."
        )
    snapshot = _evidently.run_report(
        reference,
        current,
        drifts,
        spec.thresholds.drifted_share or 0.5,
        name=name,
        timestamp=w.until or verdict.decided_at,
        tags=[f"version={summary.version}", verdict.status, *tags],
    )
    if html:
        _evidently.save_html(local / "report.html", snapshot, note)
    if spec.workspace:
        _evidently.add_to_workspace(
            spec.workspace,
            summary.model,
            f"raymaker monitor of model {summary.model}: one run per window",
            snapshot,
        )


def _report(
    spec: MonitorJobSpec,
    summary: MonitorSummary,
    verdict: Verdict,
    reference: pd.DataFrame,
    current: pd.DataFrame,
    now: datetime,
) -> MonitorResult:
    root = reports_root(spec)
    rel = f"model={summary.model}/version={summary.version}"
    folder = f"{root.rstrip('/')}/{rel}/window={summary.window.key}"
    remote = "://" in root
    html = spec.html and bool(summary.columns)
    line = log_line(summary, verdict)
    delivery = None
    with staged(folder, "raymaker-monitor-") as local:
        if summary.columns and (spec.html or spec.workspace):
            _evidently_outputs(spec, summary, verdict, reference, current, local, html)
        if verdict.violations and spec.alerts.webhook is not None:
            hook = spec.alerts.webhook
            payload = alert_payload(summary, verdict, folder)
            delivery = post_webhook(webhook_url(hook), payload, hook, secret=webhook_secret(hook))
            if not delivery.delivered:
                log.error(
                    "webhook %s not delivered after %d attempts: %s",
                    delivery.host,
                    delivery.attempts,
                    delivery.error,
                )
        record = {**summary.to_dict(), "verdict": verdict.to_dict()}
        record["webhook"] = None if delivery is None else delivery.__dict__
        tmp = local / ".summary.json.tmp"
        tmp.write_text(json.dumps(record, indent=2, sort_keys=True, default=str))
        tmp.replace(local / "summary.json")  # last: its presence means the window was checked
    gauge = Path(spec.alerts.gauge_file) if spec.alerts.gauge_file else None
    if gauge is None and not remote:
        gauge = Path(root) / rel / "monitor.prom"
    if gauge is not None:
        write_gauges(gauge, summary, verdict)
    (log.warning if verdict.violations else log.info)("%s", line)
    for v in verdict.violations:
        log.warning("violation: %s", v.message)
    return MonitorResult(summary, verdict, folder, html, line, delivery)
