"""Baseline statistics: the schema and ranges of a model's training data, kept in its artifact.

A monitor checks data quality against them: a value below the training minimum or above the
maximum is *out of range*; a code column (integer values, few of them) seen with a value
training never had has a *new category*; a feature missing more often than in training has
*missing values*. ``write_artifact`` stores them as ``baseline_stats.json``, computed over all
training rows (the ranges of the whole training set, not only of the 1,000-row
``baseline.parquet`` sample). Artifacts packaged before the file existed still load:
``baseline_stats(artifact)`` computes the statistics from their ``baseline.parquet`` instead,
and says so in ``source``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from ray_apps.errors import DataError

STATS_FILE = "baseline_stats.json"
BASELINE_FILE = "baseline.parquet"
# A numeric column whose values are all whole numbers and take at most this many distinct values
# is a code column (a flag, a grade, a category id): it is checked for new categories and Evidently
# compares it as categorical.
CATEGORY_LIMIT = 20


@dataclass(frozen=True)
class ColumnStats:
    """One feature column of the training data."""

    name: str
    kind: Literal["numeric", "categorical"]
    dtype: str
    missing_share: float
    min: float | None
    max: float | None
    mean: float | None
    std: float | None
    categories: list[float] | None = None  # categorical only: every value training had


@dataclass(frozen=True)
class BaselineStats:
    """The statistics of every feature column, and what they were computed from."""

    rows: int
    source: Literal["training data", "baseline sample"]
    columns: dict[str, ColumnStats] = field(default_factory=dict)

    @property
    def names(self) -> list[str]:
        return list(self.columns)

    def kinds(self) -> dict[str, str]:
        return {c.name: c.kind for c in self.columns.values()}

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "source": self.source,
            "columns": [asdict(c) for c in self.columns.values()],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> BaselineStats:
        cols = [ColumnStats(**c) for c in d["columns"]]
        return cls(rows=d["rows"], source=d["source"], columns={c.name: c for c in cols})


def compute_stats(
    frame: pd.DataFrame, features: list[str], source: str = "training data"
) -> BaselineStats:
    """The statistics of ``features`` in ``frame``."""
    missing = [f for f in features if f not in frame.columns]
    if missing:
        raise DataError(f"baseline rows lack feature columns {missing}; features: {features}")
    return BaselineStats(
        rows=len(frame),
        source=source,  # type: ignore[arg-type]
        columns={f: _column(f, frame[f]) for f in features},
    )


def baseline_stats(artifact: str | Path) -> BaselineStats:
    """The artifact's statistics: its ``baseline_stats.json``, or (older artifacts) computed
    from its ``baseline.parquet`` sample."""
    import json

    from ray_apps.artifact import INFO

    path = Path(artifact)
    stored = path / STATS_FILE
    if stored.is_file():
        return BaselineStats.from_dict(json.loads(stored.read_text()))
    features = [f["name"] for f in json.loads((path / INFO).read_text())["features"]]
    return compute_stats(read_baseline(path), features, source="baseline sample")


def read_baseline(artifact: str | Path) -> pd.DataFrame:
    """The artifact's sample of training rows."""
    path = Path(artifact) / BASELINE_FILE
    if not path.is_file():
        raise DataError(f"artifact {artifact} has no {BASELINE_FILE}; retrain to get a baseline")
    return pd.read_parquet(path)


def _column(name: str, values: pd.Series) -> ColumnStats:
    numeric = pd.to_numeric(values, errors="coerce").astype("float64")
    present = numeric[np.isfinite(numeric)]
    missing_share = (len(values) - len(present)) / len(values) if len(values) else 0.0
    if present.empty:
        return ColumnStats(
            name, "numeric", str(values.dtype), missing_share, None, None, None, None
        )
    distinct = np.unique(present.to_numpy())
    is_code = (
        pd.api.types.is_bool_dtype(values)
        or len(distinct) <= CATEGORY_LIMIT
        and bool(np.all(distinct == np.round(distinct)))
        and len(distinct) * 2 <= len(present)  # a handful of rows is not evidence of codes
    )
    return ColumnStats(
        name=name,
        kind="categorical" if is_code else "numeric",
        dtype=str(values.dtype),
        missing_share=missing_share,
        min=float(present.min()),
        max=float(present.max()),
        mean=float(present.mean()),
        std=float(present.std(ddof=0)),
        categories=[float(v) for v in distinct] if is_code else None,
    )
