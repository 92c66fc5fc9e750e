"""Model quality of a window from ground-truth labels that arrive later, joined by request id.

    labels: {path: labels/, label: label}     # in the monitor spec; or --labels labels.csv

The labels are any CSV/Parquet file or folder (a path or a URI) with ``request_id`` and the
label column; a ``row`` column (the row within the request, as in capture files) is needed
only for requests of several rows. A request id labelled twice keeps its last label (a
correction; files with a ``received_at`` column — labels posted to an endpoint's
``POST /v1/models/{name}/labels``, see ``ray_apps.capture.labels`` — are ordered by it). A
monitor of captured traffic without ``labels:`` reads the labels posted for its model under the
capture root, when there are any. The window's rows with a label are scored as training
scored its test split — accuracy and F1 (binary, or macro) for classification, RMSE and MAE
for regression — next to the artifact's own held-out metrics (``metrics.json``); ``decide``
judges the drop. Rows without a label yet are counted, not guessed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ray_apps.errors import DataError, NotFoundError

HIGHER_IS_BETTER = {"accuracy": True, "f1": True, "rmse": False, "mae": False}


@dataclass(frozen=True)
class ModelQuality:
    """The window's metrics on its labelled rows, and the artifact's on its test split."""

    labels: str  # where the labels came from
    labeled_rows: int  # rows of the window with a label
    unlabeled_rows: int  # rows of the window with none (yet)
    unknown_labels: int  # labelled rows whose label is no class of the model: not scored
    metrics: dict[str, float] = field(default_factory=dict)
    baseline: dict[str, float] = field(default_factory=dict)  # the artifact's, when it has them

    def worsening(self, metric: str) -> float | None:
        """How much worse than the baseline, as a fraction of it (0.1: 10 % worse)."""
        base, now = self.baseline.get(metric), self.metrics.get(metric)
        if base is None or now is None or not np.isfinite(base) or base == 0:
            return None
        return (base - now) / abs(base) if HIGHER_IS_BETTER[metric] else (now - base) / abs(base)


def read_labels(path: str, label: str) -> pd.DataFrame:
    """``request_id``, ``row`` when given, and ``label``, as the file holds them."""
    import pyarrow.dataset as pads

    if "://" not in path and not Path(path).exists():
        raise NotFoundError(f"labels.path {path!r} does not exist; pass a CSV/Parquet path")
    is_csv = path.rstrip("/").lower().endswith(".csv") or (
        "://" not in path and Path(path).is_dir() and any(Path(path).glob("*.csv"))
    )
    try:
        frame = pads.dataset(path, format="csv" if is_csv else "parquet").to_table().to_pandas()
    except (OSError, ValueError) as err:
        raise DataError(f"labels.path {path!r} cannot be read: {err}") from None
    missing = [c for c in ("request_id", label) if c not in frame.columns]
    if missing:
        raise DataError(
            f"labels {path!r} lack the column(s) {missing} (columns: {list(frame.columns)}); "
            f"give request_id and the label (labels.label names its column, now {label!r})"
        )
    if "received_at" in frame.columns:  # labels posted over HTTP: the later one is the correction
        frame = frame.sort_values("received_at", kind="stable")
    keys = ["request_id", *(["row"] if "row" in frame.columns else [])]
    return frame[[*keys, label]].rename(columns={label: "label"})


def join_labels(window: pd.DataFrame, labels: pd.DataFrame, where: str) -> pd.Series:
    """The label of each window row (aligned with ``window``; missing where none arrived)."""
    if "request_id" not in window.columns:
        raise DataError(
            f"labels are joined by request_id, and the window's data has no request_id column; "
            f"judge captured traffic, or give {where} a request_id column"
        )
    keys = window[["request_id"]].astype(str)
    labels = labels.assign(request_id=labels["request_id"].astype(str))
    if "row" in labels.columns:
        keys["row"] = window["row"].astype("int64") if "row" in window else 0
        labels = labels.assign(row=labels["row"].astype("int64"))
    else:
        sizes = keys.groupby("request_id").size()
        many = sizes[(sizes > 1) & sizes.index.isin(labels["request_id"])]
        if len(many):
            raise DataError(
                f"labelled request {many.index[0]!r} has {int(many.iloc[0])} rows in the window, "
                f"and the labels have no row column; add row (0, 1, …, as in the capture)"
            )
    labels = labels.drop_duplicates(list(keys.columns), keep="last")  # a correction wins
    joined = keys.merge(labels, how="left", on=list(keys.columns), validate="many_to_one")
    return joined["label"].set_axis(window.index)


def model_quality(
    task: str,
    classes: list,
    predictions: pd.Series,
    labels: pd.Series,
    baseline: dict[str, float],
    source: str,
) -> ModelQuality:
    """Score ``predictions`` against the rows' ``labels`` (missing = not arrived)."""
    has = labels.notna()
    y, p = labels[has], predictions[has]
    unknown = 0
    if task == "classification":
        names = [str(c) for c in classes]
        y = y.map(_as_text)
        known = y.isin(names)
        unknown = int((~known).sum())
        y, p = y[known], p[known]
        metrics = _classification(y, p.map(_as_text), names) if len(y) else {}
    else:
        metrics = _regression(y.astype("float64"), p.astype("float64")) if len(y) else {}
    wanted = {k: float(baseline[k]) for k in metrics if isinstance(baseline.get(k), (int, float))}
    return ModelQuality(source, len(y), int((~has).sum()), unknown, metrics, wanted)


def _as_text(value) -> str:
    """A label as the model's class names are written: 1, 1.0 and "1" are all "1"."""
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _classification(y: pd.Series, p: pd.Series, names: list[str]) -> dict[str, float]:
    from sklearn import metrics as skm

    index = {c: i for i, c in enumerate(names)}
    yi, pi = y.map(index).to_numpy(), p.map(index).fillna(-1).astype(int).to_numpy()
    if len(names) == 2:
        f1 = skm.f1_score(yi, pi, average="binary", zero_division=0.0)
    else:
        f1 = skm.f1_score(yi, pi, average="macro", labels=range(len(names)), zero_division=0.0)
    return {"accuracy": float(skm.accuracy_score(yi, pi)), "f1": float(f1)}


def _regression(y: pd.Series, p: pd.Series) -> dict[str, float]:
    err = y.to_numpy() - p.to_numpy()
    return {"rmse": float(np.sqrt(np.mean(err**2))), "mae": float(np.mean(np.abs(err)))}
