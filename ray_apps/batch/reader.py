"""Read one unit's rows in batches, each row with its number in the file, every line counted.

Rows are streamed with pyarrow (a Parquet row-group range, or a CSV file a block at a time) and
cut into batches of ``batch_size``, so a worker's memory does not grow with the unit. A row's
number is 0-based over the file's data rows (the header is not a row), the same whichever unit
reads it: it is ``source_row`` in the output.

A CSV line that does not parse as a row (a field missing or one too many) failed the whole job
(``CSV parse error: Row #30002: Expected 10 columns, got 9``). pyarrow's ``invalid_row_handler``
skips such a line and says why; it is reported beside the batch its number falls in, so the job
rejects it like any other bad row. The handler is told the line's number (the file's row
number: the header is row 1, blank lines are not counted) only when the reader parses on one
thread: with ``use_threads`` it is None (pyarrow 25, checked with a streamed file). One thread
read a 118 MB file no slower, and a scoring actor holds one CPU anyway. A skipped line keeps
its data-row number and the rows after it keep theirs: the k-th parsed row is row
``k + (skipped rows before it)``, a searchsorted over the skipped numbers.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from ray_apps.batch import _storage
from ray_apps.batch.plan import Unit
from ray_apps.errors import DataError


@dataclass(frozen=True)
class Malformed:
    """A CSV line that is not a row: its data-row number and its field counts."""

    row: int  # 0-based over the file's data rows, as source_row counts them
    expected: int
    actual: int

    @property
    def line(self) -> int:
        """The file's row number as pyarrow counts it: the header is 1, blank lines skipped."""
        return self.row + 2

    @property
    def reason(self) -> str:
        return f"expected {self.expected} fields, got {self.actual}"


@dataclass(frozen=True)
class Batch:
    """Rows read together: the table, each row's number, and the lines skipped among them."""

    table: pa.Table
    rows: np.ndarray  # int64: each table row's data-row number in the file
    malformed: tuple[Malformed, ...] = ()

    def split(self, size: int) -> Iterator[Batch]:
        """Batches of at most ``size`` rows; a skipped line goes with the rows around it."""
        n = self.table.num_rows
        if n <= size:
            yield self
            return
        pending = list(self.malformed)
        for start in range(0, n, size):
            rows = self.rows[start : start + size]
            last = start + size >= n
            cut = len(pending) if last else sum(1 for m in pending if m.row < rows[-1])
            yield Batch(self.table.slice(start, size), rows, tuple(pending[:cut]))
            pending = pending[cut:]


def read_unit(unit: Unit, batch_size: int, features: list[str]) -> Iterator[Batch]:
    """The unit's rows in batches of at most ``batch_size`` rows, streamed."""
    fs, path = _storage.filesystem(unit.path)
    if unit.format == "parquet":
        blocks = _parquet_blocks(fs, path, unit, batch_size)
    else:
        blocks = _csv_blocks(fs, path, unit, features)
    for block in blocks:
        yield from block.split(batch_size)


def _parquet_blocks(fs, path: str, unit: Unit, batch_size: int) -> Iterator[Batch]:
    import pyarrow.parquet as pq

    row = unit.first_row
    groups = list(range(unit.rg_start, unit.rg_end))
    for batch in pq.ParquetFile(path, filesystem=fs).iter_batches(batch_size, row_groups=groups):
        yield Batch(pa.Table.from_batches([batch]), np.arange(row, row + batch.num_rows))
        row += batch.num_rows


def _csv_blocks(fs, path: str, unit: Unit, features: list[str]) -> Iterator[Batch]:
    import pyarrow.csv as pacsv

    skipped: list[Malformed] = []

    def on_invalid(row) -> str:
        if row.number is None:  # only when parsing on several threads: fail as before
            return "error"
        skipped.append(Malformed(row.number - 2, row.expected_columns, row.actual_columns))
        return "skip"

    # Features are read as text and parsed per row by ``screen``: a stray word in a numeric
    # column must reject one row, not fail the block that type inference already fixed.
    convert = pacsv.ConvertOptions(column_types={f: pa.string() for f in features})
    with fs.open_input_stream(path) as stream:
        try:
            reader = pacsv.open_csv(
                stream,
                read_options=pacsv.ReadOptions(use_threads=False),
                parse_options=pacsv.ParseOptions(invalid_row_handler=on_invalid),
                convert_options=convert,
            )
            yield from _numbered(reader, skipped)
        except pa.ArrowInvalid as err:
            raise DataError(f"{unit.path}: cannot be read as CSV: {err}") from None


def _numbered(reader, skipped: list[Malformed]) -> Iterator[Batch]:
    """The reader's blocks with their rows numbered around the lines ``skipped`` so far (the
    handler has seen every line of a block by the time the reader hands the block over)."""
    parsed = reported = 0
    for block in reader:
        n = block.num_rows
        rows = data_rows(np.arange(parsed, parsed + n), [m.row for m in skipped])
        parsed += n
        cut = reported
        while cut < len(skipped) and n and skipped[cut].row < rows[-1]:
            cut += 1
        yield Batch(pa.Table.from_batches([block]), rows, tuple(skipped[reported:cut]))
        reported = cut
    if reported < len(skipped):  # lines after the last row (or a file of nothing else)
        empty = reader.schema.empty_table()
        yield Batch(empty, np.empty(0, np.int64), tuple(skipped[reported:]))


def data_rows(parsed: np.ndarray, skipped: list[int]) -> np.ndarray:
    """The data-row numbers of parsed rows ``parsed`` (0, 1, … over the rows that parsed) in a
    file whose rows ``skipped`` (sorted) did not parse."""
    if not skipped:
        return parsed.astype(np.int64, copy=False)
    bad = np.asarray(skipped, dtype=np.int64)
    before = bad - np.arange(len(bad))  # parsed rows that precede each skipped one
    return parsed + np.searchsorted(before, parsed, side="right")
