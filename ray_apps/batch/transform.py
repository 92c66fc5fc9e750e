"""Score one unit of work: read its rows, predict, write its output and rejects parts.

Rows come in batches from ``reader.read_unit`` and are written as they come. Parts go to hidden
temporary names and are moved onto ``part-<unit>.parquet`` when complete; the unit's stats file
under ``units/`` is written last and is what "committed" means. A retried unit writes the same
names again, so the output holds each row once; it first removes the temporary files an earlier
try of the same unit left (a worker or a driver killed mid-write), never a committed part.
A rejects row has the row's id, its ``source_file`` and ``source_row`` (also with an
``id_column``: a CSV line that does not parse has no id), and the ``reason``.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from ray_apps.artifact import Model
from ray_apps.batch import _storage
from ray_apps.batch.plan import Unit
from ray_apps.batch.reader import Batch, Malformed, read_unit
from ray_apps.batch.rows import ID_FILE, ID_ROW, row_ids, screen
from ray_apps.batch.summary import UnitStats
from ray_apps.errors import DataError
from ray_apps.prediction import from_scores

OUTPUT, REJECTS, UNITS = "output", "rejects", "units"
# Key-value metadata of every output part: which columns are the model's features, which one
# names a row, and the classes ``probabilities`` follow (what ``read_output`` needs).
METADATA_KEY = b"raymaker.batch"


@dataclass(frozen=True)
class UnitContext:
    """What every unit of a job is scored with (the same in every actor)."""

    run_dir: str
    model_name: str
    model_version: int
    id_column: str | None
    keep: str  # "all" | "id"
    batch_size: int
    strict: bool


def committed(fs, run_dir: str, unit: Unit) -> UnitStats | None:
    """The unit's stats if its parts are committed, else None."""
    data = _storage.read_json(fs, f"{run_dir}/{UNITS}/{_final_name(UNITS, unit)}")
    return UnitStats.from_dict(data) if data else None


def score_unit(
    unit: Unit, model: Model, ctx: UnitContext, before_commit: Callable[[], None] = lambda: None
) -> UnitStats:
    """Score ``unit`` into its parts and commit it; ``before_commit`` runs between the parts'
    moves and the stats file (where fault injection strikes)."""
    fs, run_dir = _storage.filesystem(ctx.run_dir)
    for folder in (OUTPUT, REJECTS, UNITS):
        _storage.remove_temporaries(fs, f"{run_dir}/{folder}", _final_name(folder, unit))
    out = _PartWriter(fs, f"{run_dir}/{OUTPUT}/{unit.part_name}")
    rej = _PartWriter(fs, f"{run_dir}/{REJECTS}/{unit.part_name}")
    rows_in, reasons, first_reject = 0, Counter(), None
    meta = {METADATA_KEY: part_metadata(model, ctx)}
    for batch in read_unit(unit, ctx.batch_size, model.info.feature_names):
        good, bad = _score_batch(batch, unit, model, ctx)
        rows_in += batch.table.num_rows + len(batch.malformed)
        out.write(good.replace_schema_metadata(meta))
        reasons.update(bad.column("reason").to_pylist())
        if bad.num_rows and first_reject is None:
            first_reject = _describe(bad, batch.malformed, unit)
        if not ctx.strict:
            rej.write(bad)
    out.commit()
    rej.commit()
    before_commit()
    stats = UnitStats(unit.index, rows_in, out.rows, dict(reasons), first_reject)
    _storage.write_json(fs, f"{run_dir}/{UNITS}/{_final_name(UNITS, unit)}", stats.to_dict())
    return stats


def _final_name(folder: str, unit: Unit) -> str:
    return f"{unit.part_name}.json" if folder == UNITS else unit.part_name


def part_metadata(model: Model, ctx: UnitContext) -> str:
    info = model.info
    return json.dumps(
        {
            "features": list(info.feature_names),
            "id_column": ctx.id_column,
            "classes": [c.item() if hasattr(c, "item") else c for c in info.classes or []],
        }
    )


def _score_batch(batch: Batch, unit: Unit, model: Model, ctx: UnitContext):
    """``(output rows, rejects)`` of one batch; rejects sorted by their row in the file."""
    table, features = batch.table, model.info.feature_names
    if ctx.id_column is not None and ctx.id_column not in table.column_names:
        raise DataError(
            f"id_column {ctx.id_column!r} is not a column of {unit.path}; its columns are "
            f"{table.column_names}; fix id_column or leave it out to use the row number"
        )
    screened = screen(table, features)
    ok = pa.array(screened.ok)
    ids = row_ids(table, ctx.id_column, unit.path, batch.rows)
    cols = {name: col.filter(ok) for name, col in ids.items()}
    if ctx.keep == "all":
        for i, name in enumerate(table.column_names):
            if name in cols:
                continue
            cols[name] = (
                pa.array(screened.x[:, features.index(name)])
                if name in features
                else table.column(i).filter(ok)
            )
    cols.update(_predictions(model, screened.x, ctx))
    where = {**ids, **row_ids(table, None, unit.path, batch.rows)}
    bad = pa.array(~screened.ok)
    rejects = {name: col.filter(bad) for name, col in where.items()}
    rejects["reason"] = pa.array([r for r in screened.reasons if r is not None], pa.string())
    return pa.table(cols), _with_malformed(pa.table(rejects), batch.malformed, unit, table)


def _with_malformed(rejects: pa.Table, malformed, unit: Unit, table: pa.Table) -> pa.Table:
    """``rejects`` and the batch's lines that did not parse (their id, if any, is null)."""
    if not malformed:
        return rejects
    n = len(malformed)
    lines = {
        name: pa.nulls(n, table.schema.field(name).type)
        for name in rejects.column_names
        if name not in (ID_FILE, ID_ROW, "reason")
    }
    lines[ID_FILE] = pa.array([unit.path] * n, pa.string())
    lines[ID_ROW] = pa.array([m.row for m in malformed], pa.int64())
    lines["reason"] = pa.array([m.reason for m in malformed], pa.string())
    both = pa.concat_tables([rejects, pa.table(lines).select(rejects.column_names)])
    return both.sort_by(ID_ROW)


def _predictions(model: Model, x: np.ndarray, ctx: UnitContext) -> dict[str, pa.Array]:
    info = model.info
    n = len(x)
    if n:
        pred = from_scores(model.predict_matrix(x), info.task, info.classes)
        labels, probs = pred.predictions, pred.probabilities
    else:
        labels = np.asarray(info.classes or [0.0])[:0]
        probs = np.empty((0, len(info.classes))) if info.task == "classification" else None
    cols = {"prediction": pa.array(labels)}
    if probs is not None:
        flat = pa.array(np.asarray(probs, dtype=np.float64).reshape(-1))
        fixed = pa.FixedSizeListArray.from_arrays(flat, probs.shape[1])
        cols["probabilities"] = fixed.cast(pa.list_(pa.float64()))
    cols["model"] = pa.array([ctx.model_name] * n, pa.string())
    cols["version"] = pa.array(np.full(n, ctx.model_version, dtype=np.int64))
    return cols


def _describe(bad: pa.Table, malformed: tuple[Malformed, ...], unit: Unit) -> str:
    """The first reject for a strict job's error: its id, and a line that did not parse by
    its file and line number."""
    row = {k: v[0] for k, v in bad.slice(0, 1).to_pydict().items()}
    reason = row.pop("reason")
    line = next((m for m in malformed if m.row == row[ID_ROW] and m.reason == reason), None)
    if line is not None:
        return f"{unit.path} line {line.line} (source_row {line.row}) is not a row: {reason}"
    return f"row {row}: {reason}"


class _PartWriter:
    """A Parquet part written as batches come, under a temporary name until ``commit``."""

    def __init__(self, fs, path: str):
        self.fs, self.path, self.rows = fs, path, 0
        self._tmp = _storage.temporary(path)
        self._writer = None

    def write(self, table: pa.Table) -> None:
        if not table.num_rows:
            return
        if self._writer is None:
            import pyarrow.parquet as pq

            self.fs.create_dir(self.path.rsplit("/", 1)[0], recursive=True)
            self._writer = pq.ParquetWriter(
                self._tmp,
                table.schema,
                filesystem=self.fs,
                use_dictionary=_dictionary_columns(table.schema),
            )
        self._writer.write_table(table.cast(self._writer.schema))
        self.rows += table.num_rows

    def commit(self) -> None:
        """Move the part onto its final name (none is written for a unit without rows)."""
        if self._writer is not None:
            self._writer.close()
            self.fs.move(self._tmp, self.path)


def _dictionary_columns(schema: pa.Schema) -> list[str]:
    """Columns worth dictionary-encoding: not floats (or lists of them). Measured values
    rarely repeat, and pyarrow builds a dictionary for every page of a float column before
    giving up on it: that was 40% of the time spent writing a part."""
    return [
        f.name
        for f in schema
        if not pa.types.is_floating(f.type) and not pa.types.is_nested(f.type)
    ]
