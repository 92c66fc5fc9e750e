"""Which rows a model can take, why the others cannot, and what names each row.

Pure functions of a pyarrow table, so the rules are tested without Ray:

- a row is **rejected** for the first feature (in the model's order) that is missing as a
  column, empty, not a number, NaN or infinite; the reason names the feature;
- a row's **id** is its ``id_column`` value, or the source file and its row number there
  (0-based, counted over the whole file's data rows, so it is the same whichever unit reads
  it; ``reader`` numbers them).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

ID_FILE, ID_ROW = "source_file", "source_row"


@dataclass(frozen=True)
class Screened:
    """A batch split into what the model takes and why the rest is rejected.

    ``x``: float64 ``(n_ok, n_features)`` for the rows where ``ok``; ``reasons[i]`` is None
    for a taken row and names the problem for a rejected one.
    """

    ok: np.ndarray
    x: np.ndarray
    reasons: list[str | None]


def screen(table: pa.Table, features: list[str]) -> Screened:
    """Numeric feature matrix for the good rows, a reason for every bad one."""
    n = table.num_rows
    reasons = np.full(n, None, dtype=object)
    bad = np.zeros(n, dtype=bool)
    columns = []
    for name in features:
        values, problems = _column(table, name, n)
        columns.append(values)
        first = (problems != "") & ~bad
        if first.any():
            reasons[first] = [f"{p} feature {name!r}" for p in problems[first]]
            bad |= first
    ok = ~bad
    if not columns:
        return Screened(ok, np.empty((int(ok.sum()), 0)), reasons.tolist())
    x = np.column_stack(columns)
    return Screened(ok, x if ok.all() else x[ok], reasons.tolist())


def _column(table: pa.Table, name: str, n: int) -> tuple[np.ndarray, np.ndarray]:
    """A float64 column and, per row, "" or what is wrong with its value."""
    if name not in table.column_names:
        return np.zeros(n), np.full(n, "missing column for", dtype=object)
    column = table.column(name)
    if pa.types.is_floating(column.type) or pa.types.is_integer(column.type):
        return _numeric(column, n)
    return _parsed(column, n)


def _numeric(column: pa.ChunkedArray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """A column that is already numbers: only NaN (or null) and infinity are wrong.

    The common case (Parquet, typed CSV) and the hot path: parsing every number back from
    text cost ~50 us a row and was 90% of a batch job's time.
    """
    values = column.to_numpy().astype(np.float64, copy=False)
    problems = np.full(n, "", dtype=object)
    problems[np.isnan(values)] = "NaN in"  # a null is NaN here, as in a float column
    problems[np.isinf(values)] = "infinite value in"
    return values, problems


def _parsed(column: pa.ChunkedArray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """A column of text (or anything else): each value parsed as a number, or a reason."""
    import pandas as pd

    problems = np.full(n, "", dtype=object)
    raw = column.to_pandas()
    values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    text = raw.astype(str).str.strip().str.lower()
    empty = raw.isna().to_numpy() | (text == "").to_numpy()
    problems[np.isnan(values) & ~empty] = "non-numeric value in"
    if raw.dtype.kind == "f":  # a float column's null is a NaN, not an empty cell
        problems[raw.isna().to_numpy()] = "NaN in"
    else:
        problems[empty] = "empty value in"
        problems[(text == "nan").to_numpy()] = "NaN in"
    problems[np.isinf(values)] = "infinite value in"
    return values, problems


def row_ids(
    table: pa.Table, id_column: str | None, source_file: str, rows: np.ndarray
) -> dict[str, pa.Array]:
    """The id columns of ``table``'s rows: ``{id_column: …}`` or ``{source_file, source_row}``,
    ``rows`` being each row's number in the file."""
    if id_column is not None:
        return {id_column: table.column(id_column).combine_chunks()}
    return {
        ID_FILE: pa.array([source_file] * table.num_rows, pa.string()),
        ID_ROW: pa.array(np.asarray(rows, dtype=np.int64)),
    }
