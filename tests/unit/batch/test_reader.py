"""Reading units without Ray: every row numbered as in its file, every malformed CSV line
reported with its number and field counts, also across pyarrow's blocks and batch cuts."""

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ray_apps.batch.plan import Unit
from ray_apps.batch.reader import Malformed, data_rows, read_unit
from ray_apps.errors import DataError


def test_rows_after_skipped_ones_keep_their_numbers():
    parsed = np.arange(6)
    assert data_rows(parsed, []).tolist() == [0, 1, 2, 3, 4, 5]
    # rows 0, 3, 4 and 8 did not parse: the parsed ones are 1, 2, 5, 6, 7, 9
    assert data_rows(parsed, [0, 3, 4, 8]).tolist() == [1, 2, 5, 6, 7, 9]


def _csv(path, n, bad: dict[int, str]):
    """A CSV of data rows 0..n-1 whose column ``i`` holds the row's own number; the rows in
    ``bad`` are replaced by the given line."""
    lines = ["i,a,b"] + [bad.get(i, f"{i},{i * 0.5},x{i}") for i in range(n)]
    path.write_text("\n".join(lines) + "\n")
    return path


def _read(path, batch_size=1000):
    batches = list(read_unit(Unit(0, str(path), "csv"), batch_size, ["a"]))
    rows = np.concatenate([b.rows for b in batches]).tolist()
    values = [int(v) for b in batches for v in b.table.column("i").to_pylist()]
    malformed = [m for b in batches for m in b.malformed]
    return batches, rows, values, malformed


@pytest.mark.parametrize("batch_size", [7, 100_000])
def test_a_multi_file_csv_set_accounts_for_every_line(tmp_path, batch_size):
    # 60,000 rows (~1.1 MB) span pyarrow's 1 MiB blocks; bad lines first, in the middle, on
    # both sides of 30,000 and last; a file whose every row is bad.
    big = {0: "1,2", 29_999: "a,b,c,d", 30_000: "x", 45_000: "1,2,3,4", 59_999: "9"}
    sets = {
        "a.csv": (60_000, big),
        "b.csv": (5, {2: "2,1.0", 4: "4,2.0,x,extra"}),
        "c.csv": (2, {0: "0", 1: "1,2,3,4"}),
    }
    for name, (n, bad) in sets.items():
        batches, rows, values, malformed = _read(_csv(tmp_path / name, n, bad), batch_size)
        assert rows == values  # a row's number is the one written in it
        assert [m.row for m in malformed] == sorted(bad)
        assert sorted(rows + sorted(bad)) == list(range(n))
        assert all(b.table.num_rows <= batch_size for b in batches)
        for b in batches:  # a skipped line travels with the rows around it
            if b.malformed and b.table.num_rows:
                assert b.malformed[-1].row < b.rows[-1]


def test_a_malformed_line_says_what_it_expected_and_got(tmp_path):
    path = _csv(tmp_path / "f.csv", 4, {1: "1,2", 3: "3,1.5,x,y"})
    _, rows, _, malformed = _read(path)
    assert rows == [0, 2]
    assert malformed == [Malformed(1, 3, 2), Malformed(3, 3, 4)]
    assert [(m.line, m.reason) for m in malformed] == [
        (3, "expected 3 fields, got 2"),
        (5, "expected 3 fields, got 4"),
    ]


def test_parquet_rows_are_numbered_from_the_units_first_row(tmp_path):
    pq.write_table(pa.table({"a": list(range(30))}), tmp_path / "p.parquet", row_group_size=10)
    unit = Unit(1, str(tmp_path / "p.parquet"), "parquet", 1, 3, 10, 20)
    batches = list(read_unit(unit, 7, ["a"]))
    assert np.concatenate([b.rows for b in batches]).tolist() == list(range(10, 30))
    assert not any(b.malformed for b in batches)


def test_a_file_that_is_not_csv_names_the_file(tmp_path):
    (tmp_path / "e.csv").write_text("")
    with pytest.raises(DataError, match="e.csv: cannot be read as CSV"):
        list(read_unit(Unit(0, str(tmp_path / "e.csv"), "csv"), 10, ["a"]))
