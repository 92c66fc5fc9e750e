"""``run_bias``: Clarify's bias metrics of a model version, per group of a sensitive column.

    from ray_apps.bias import run_bias
    result = run_bias({"model": "cancer:3", "data": {"dataset": "test.parquet"},
                       "sensitive": "sex", "positive_label": 1})
    result.report.group("F").metrics["DI"], result.report_dir

Top to bottom: resolve the version and fetch its artifact (checksums checked) → the rows (a
dataset, or a window of captured traffic) → predictions (captured, else the model's) and labels
(the dataset's label column, or late labels joined by request id; none is allowed: then only
CI, DI and DPPL are computed) → groups of the sensitive column → each group against the rest
(``ray_apps.bias.metrics``) → ``bias.json`` (and ``bias.html``) in
``<output>/model=<m>/version=<v>/window=<key>/sensitive=<column>/``, where ``<output>`` is
``spec.output`` (a path or URI) or ``$RAYMAKER_HOME/bias``. Reads, never changes, the registry.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from ray_apps import settings
from ray_apps._staging import staged
from ray_apps.artifact import Model
from ray_apps.bias.groups import as_text, assign_groups, bin_labels
from ray_apps.bias.metrics import facet_bias
from ray_apps.bias.report import BiasReport, render_html
from ray_apps.bias.spec import BiasJobSpec, parse_bias_spec
from ray_apps.errors import DataError, SpecError
from ray_apps.monitoring.labels import join_labels, read_labels
from ray_apps.monitoring.window import read_window
from ray_apps.registry import load_version, parse_ref


@dataclass(frozen=True)
class BiasResult:
    report: BiasReport
    report_dir: str  # the run's folder (a path or a URI)
    html: bool  # whether bias.html was written


def run_bias(spec: BiasJobSpec | dict | str | Path, *, now: datetime | None = None) -> BiasResult:
    """Compute the metrics of every group and write the report; raises on bad input."""
    spec = parse_bias_spec(spec)
    model, version = load_version(
        spec.model, artifact=spec.artifact, tracking_uri=spec.tracking_uri
    )
    if model.info.task != "classification":
        raise SpecError(
            f"model {spec.model} is a regressor; bias metrics compare positive outcomes of a "
            "classifier (Clarify's set): give a classification model"
        )
    positive = _positive_label(spec, model)
    rows = read_window(
        spec.data,
        parse_ref(spec.model)[0],
        version,
        _columns(spec, model),
        now or datetime.now(UTC),
    )
    frame = rows.frame
    if spec.sensitive not in frame.columns:
        raise DataError(
            f"sensitive column {spec.sensitive!r} is not in the data (columns: "
            f"{sorted(frame.columns)[:20]}); name a column of the data (captured traffic holds "
            "the model's features only)"
        )
    missing = [f for f in model.info.feature_names if f not in frame.columns]
    if missing and not _has_predictions(frame):
        raise DataError(f"the data lacks the model's feature column(s) {missing[:10]}")
    pred_source = "captured" if _has_predictions(frame) else "computed"
    if pred_source == "computed":
        predictions = pd.Series(model.predict(frame[model.info.feature_names]), index=frame.index)
    else:
        predictions = frame["prediction"]
    labels, label_source = _labels(spec, model, frame)
    groups = assign_groups(frame[spec.sensitive], spec.sensitive, spec.bins, spec.max_groups)
    keep = groups.notna().to_numpy()
    pred = (predictions.map(as_text) == positive).to_numpy()[keep]
    y = None
    if labels is not None:
        y = labels.map(lambda v: np.nan if pd.isna(v) else float(as_text(v) == positive))
        y = y.to_numpy(dtype=float)[keep]
    g = groups[keep].to_numpy()
    names = _ordered(groups[keep], spec.bins)
    name = parse_ref(spec.model)[0]
    report = BiasReport(
        model=name,
        version=version,
        window=rows.window,
        sensitive=spec.sensitive,
        positive_label=positive,
        grouping="bins" if spec.bins else "value",
        rows=int(keep.sum()),
        missing_sensitive=int((~keep).sum()),
        labelled_rows=0 if y is None else int((~np.isnan(y)).sum()),
        label_source=label_source,
        prediction_source=pred_source,
        groups=[facet_bias(n, g == n, pred, y) for n in names],
    )
    return _write(spec, report)


def reports_root(spec: BiasJobSpec) -> str:
    """Where the reports of ``spec`` go: ``output`` or ``$RAYMAKER_HOME/bias``."""
    return spec.output or str(
        settings.home("bias reports", "the spec's output: (or RAYMAKER_HOME)") / "bias"
    )


def _positive_label(spec: BiasJobSpec, model: Model) -> str:
    classes = [as_text(c) for c in model.info.classes]
    if spec.positive_label is None:
        if len(classes) != 2:
            raise SpecError(
                f"positive_label is required for a model of {len(classes)} classes; "
                f"name the favourable one of {classes}"
            )
        return classes[1]
    positive = as_text(spec.positive_label)
    if positive not in classes:
        raise SpecError(
            f"positive_label: {spec.positive_label!r} is no class of model {spec.model}; "
            f"allowed: {classes}"
        )
    return positive


def _columns(spec: BiasJobSpec, model: Model) -> list[str]:
    """Columns a dataset may hold as ``feature.<name>`` (capture files): features, sensitive."""
    features = model.info.feature_names
    if spec.data.dataset is None:
        return features
    return [*features, *([spec.sensitive] if spec.sensitive not in features else [])]


def _has_predictions(frame: pd.DataFrame) -> bool:
    return "prediction" in frame and bool(frame["prediction"].notna().all())


def _labels(spec: BiasJobSpec, model: Model, frame: pd.DataFrame) -> tuple[pd.Series | None, str]:
    """The label of each row (missing where none), and where the labels came from."""
    if spec.labels is not None:
        where = spec.data.dataset or "capture"
        return join_labels(frame, read_labels(spec.labels.path, spec.labels.label), where), (
            spec.labels.path
        )
    column = spec.label or model.info.label
    if spec.data.dataset is not None and column in frame.columns:
        return frame[column], f"column {column!r}"
    if spec.label is not None:
        raise DataError(
            f"label: the dataset has no column {spec.label!r} (columns: "
            f"{sorted(frame.columns)[:20]}); name its label column"
        )
    return None, "none"


def _ordered(groups: pd.Series, bins: list[float] | None) -> list[str]:
    """Bins in order of their edges; values largest group first, then by name."""
    if bins is not None:
        present = set(groups)
        return [b for b in bin_labels(bins) if b in present]
    counts = groups.value_counts()
    return sorted(counts.index, key=lambda n: (-counts[n], n))


def _write(spec: BiasJobSpec, report: BiasReport) -> BiasResult:
    root = reports_root(spec)
    column = re.sub(r"[^A-Za-z0-9_.-]", "_", spec.sensitive)
    rel = f"model={report.model}/version={report.version}"
    folder = f"{root.rstrip('/')}/{rel}/window={report.window.key}/sensitive={column}"
    with staged(folder, "raymaker-bias-") as local:
        if spec.html:
            (local / "bias.html").write_text(render_html(report))
        record = {**report.to_dict(), "computed_at": datetime.now(UTC).isoformat()}
        tmp = local / ".bias.json.tmp"
        tmp.write_text(json.dumps(record, indent=2, sort_keys=True, default=str))
        tmp.replace(local / "bias.json")
    return BiasResult(report, folder, spec.html)
