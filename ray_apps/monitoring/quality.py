"""Data-quality checks of a window of rows against the baseline statistics (pure pandas).

Per feature column: the share of rows missing a value (null, NaN or infinite), the share of
present values outside the training range ``[min, max]``, and for code columns the share of
values training never had (and which ones, the first few). Thresholds are applied later, by
``ray_apps.monitoring.alerts.decide``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ray_apps.errors import DataError
from ray_apps.monitoring.baseline import BaselineStats, ColumnStats

SHOWN_NEW_CATEGORIES = 10


@dataclass(frozen=True)
class ColumnQuality:
    """What one feature column of the window looks like next to the training data."""

    column: str
    missing_share: float
    baseline_missing_share: float
    out_of_range_share: float
    new_category_share: float = 0.0
    new_categories: list[float] = field(default_factory=list)  # the first few seen


def check_quality(current: pd.DataFrame, stats: BaselineStats) -> list[ColumnQuality]:
    """One ``ColumnQuality`` per baseline feature, in feature order."""
    absent = [name for name in stats.names if name not in current.columns]
    if absent:
        raise DataError(
            f"the current data lacks feature columns {absent}; it needs every feature of the "
            f"model: {stats.names}"
        )
    return [_column(current[name], col) for name, col in stats.columns.items()]


def _column(values: pd.Series, col: ColumnStats) -> ColumnQuality:
    x = pd.to_numeric(values, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    present = x[np.isfinite(x)]
    n = len(x)
    missing = (n - len(present)) / n if n else 0.0
    out = 0.0
    if len(present) and col.min is not None and col.max is not None:
        out = float(np.mean((present < col.min) | (present > col.max)))
    new_share, new = 0.0, []
    if col.categories is not None and len(present):
        unseen = ~np.isin(present, np.asarray(col.categories))
        new_share = float(np.mean(unseen))
        new = [float(v) for v in np.unique(present[unseen])[:SHOWN_NEW_CATEGORIES]]
    return ColumnQuality(
        column=col.name,
        missing_share=float(missing),
        baseline_missing_share=col.missing_share,
        out_of_range_share=out,
        new_category_share=new_share,
        new_categories=new,
    )
