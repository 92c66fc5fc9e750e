"""Per-slice metrics: the same metrics on subsets of the rows, worst slices first.

A categorical column (text, or numeric with at most ``max_categories`` distinct values) gives
one slice per value; another numeric column gives ``bins`` quantile bins (fewer when values
repeat). Slices smaller than ``min_size`` are listed with their size but not ranked: a metric
on a handful of rows is noise, and would put the smallest slice first every time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ray_apps.errors import DataError
from ray_apps.evaluation.overall import metrics_for, worst_first_key


@dataclass(frozen=True)
class SliceMetrics:
    column: str
    slice: str  # the value, or the bin as "[low, high]"
    size: int
    metrics: dict[str, float]
    ranked: bool  # size >= min_size


def slice_metrics(
    frame: pd.DataFrame,
    y_true,
    predictions,
    proba: np.ndarray | None,
    *,
    task: str,
    classes: list,
    columns: list[str],
    metric: str,
    bins: int = 4,
    min_size: int = 20,
    max_categories: int = 10,
) -> list[SliceMetrics]:
    """Ranked slices worst first by ``metric`` (NaN last), then the small ones by size."""
    absent = [c for c in columns if c not in frame.columns]
    if absent:
        raise DataError(
            f"slices.columns {absent} are not in the test data; its columns are "
            f"{list(frame.columns)}"
        )
    y, pred = np.asarray(y_true), np.asarray(predictions)
    out = []
    for column in columns:
        for name, mask in _groups(frame[column], bins, max_categories):
            rows = np.flatnonzero(mask)
            p = None if proba is None else np.asarray(proba)[rows]
            values = metrics_for(task, y[rows], pred[rows], p, classes)
            out.append(SliceMetrics(column, name, len(rows), values, len(rows) >= min_size))
    key = worst_first_key(metric)
    ranked = sorted((s for s in out if s.ranked), key=lambda s: key(s.metrics[metric]))
    small = sorted((s for s in out if not s.ranked), key=lambda s: s.size)
    return ranked + small


def _groups(values: pd.Series, bins: int, max_categories: int):
    """(slice name, boolean mask) per value or quantile bin; missing values form a slice."""
    numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
    present = values.notna().to_numpy()
    if numeric and values.nunique() > max_categories:
        codes = pd.qcut(values, q=bins, duplicates="drop")
        for interval in codes.cat.categories:
            mask = (codes == interval).to_numpy()
            yield f"[{interval.left:.4g}, {interval.right:.4g}]", mask
    else:
        for value in sorted(values.dropna().unique().tolist(), key=str):
            yield str(value), (values == value).to_numpy()
    if not present.all():
        yield "missing", ~present
