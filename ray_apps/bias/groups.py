"""Which group each row belongs to: a value of the sensitive column, or a bin of its numbers.

A code column (text, booleans, integers with few values) groups by value. A numeric column
with more than ``max_groups`` distinct values needs ``bins``: edges e1 < e2 < … that cut it
into ``< e1``, ``[e1, e2)``, …, ``>= ek`` (a single edge is Clarify's threshold facet). Rows
whose sensitive value is missing belong to no group; they are counted, not compared.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ray_apps.errors import DataError, SpecError


def as_text(value) -> str:
    """A value as a group or class name: 1, 1.0 and "1" are all "1"."""
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


def bin_labels(edges: list[float]) -> list[str]:
    """Names of the bins ``edges`` cut: ``< e1``, ``[e1, e2)``, …, ``>= ek``."""
    e = [as_text(x) for x in edges]
    return [
        f"< {e[0]}",
        *(f"[{lo}, {hi})" for lo, hi in zip(e, e[1:], strict=False)),
        f">= {e[-1]}",
    ]


def assign_groups(
    values: pd.Series, column: str, bins: list[float] | None, max_groups: int
) -> pd.Series:
    """Each row's group name (text), or missing where the sensitive value is missing."""
    if bins is not None:
        numbers = pd.to_numeric(values, errors="coerce")
        bad = values.notna() & numbers.isna()
        if bad.any():
            raise DataError(
                f"bins cut a numeric column, and sensitive column {column!r} holds "
                f"{values[bad].iloc[0]!r}; drop bins to group by value"
            )
        edges = [-np.inf, *bins, np.inf]
        cut = pd.cut(numbers, edges, right=False, labels=bin_labels(bins))
        return cut.astype(object).where(numbers.notna(), None)
    present = values.dropna()
    distinct = present.nunique()
    numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
    if numeric and distinct > max_groups:
        raise SpecError(
            f"sensitive column {column!r} is numeric with {distinct} distinct values (more than "
            f"max_groups = {max_groups}); give bins, e.g. bins: [{_median(present)}], to group it"
        )
    if distinct > max_groups:
        raise SpecError(
            f"sensitive column {column!r} has {distinct} distinct values (more than "
            f"max_groups = {max_groups}); raise max_groups, or give bins for a numeric column"
        )
    return values.map(as_text).where(values.notna(), None)


def _median(values: pd.Series) -> str:
    return as_text(round(float(values.median()), 2))
