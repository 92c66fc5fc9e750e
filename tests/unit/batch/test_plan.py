"""Unit planning: deterministic units from a listing of CSV and Parquet files."""

from dataclasses import asdict

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ray_apps.batch.plan import (
    InputFile,
    Unit,
    file_format,
    fingerprint,
    input_changes,
    list_input,
    plan_units,
)
from ray_apps.errors import DataError


def test_csv_files_are_one_unit_each_parquet_splits_at_row_groups():
    files = [
        InputFile("/d/b.parquet", "parquet", 10, (40, 40, 40, 10)),
        InputFile("/d/a.csv", "csv", 5),
    ]
    units = plan_units(files, rows_per_unit=70)
    assert units == [
        Unit(0, "/d/a.csv", "csv"),
        Unit(1, "/d/b.parquet", "parquet", 0, 2, 0, 80),
        Unit(2, "/d/b.parquet", "parquet", 2, 4, 80, 50),
    ]
    # The same listing in any order gives the same plan.
    assert plan_units(files[::-1], rows_per_unit=70) == units


def test_one_unit_per_row_group_when_groups_reach_the_target():
    f = InputFile("/d/x.parquet", "parquet", 1, (5, 5, 5))
    assert [(u.rg_start, u.rg_end, u.first_row) for u in plan_units([f], 5)] == [
        (0, 1, 0),
        (1, 2, 5),
        (2, 3, 10),
    ]


def test_fingerprint_changes_with_the_input():
    a = [InputFile("/d/a.csv", "csv", 5)]
    assert fingerprint(a) == fingerprint(list(a))
    assert fingerprint(a) != fingerprint([InputFile("/d/a.csv", "csv", 6)])


def test_formats_by_extension():
    assert [file_format(p) for p in ["a.CSV", "b.parquet", "c.pq", "d.json", "noext"]] == [
        "csv",
        "parquet",
        "parquet",
        None,
        None,
    ]


def test_lists_a_folder_a_file_and_a_glob(tmp_path):
    (tmp_path / "a.csv").write_text("x\n1\n")
    pq.write_table(pa.table({"x": list(range(10))}), tmp_path / "b.parquet", row_group_size=4)
    (tmp_path / "notes.txt").write_text("skip me")
    folder = list_input(str(tmp_path))
    assert sorted((f.path.rsplit("/", 1)[-1], f.row_groups) for f in folder) == [
        ("a.csv", ()),
        ("b.parquet", (4, 4, 2)),
    ]
    assert [f.format for f in list_input(str(tmp_path / "b.parquet"))] == ["parquet"]
    assert [f.format for f in list_input(f"{tmp_path}/*.csv")] == ["csv"]


def test_empty_or_absent_input_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match="holds no CSV or Parquet files"):
        list_input(str(tmp_path))
    with pytest.raises(DataError, match="does not exist"):
        list_input(str(tmp_path / "absent"))


def test_input_changes_name_each_added_removed_or_resized_file():
    planned = [
        InputFile("/d/a.csv", "csv", 100),
        InputFile("/d/b.csv", "csv", 2048),
        InputFile("/d/c.parquet", "parquet", 10, (5, 5)),
    ]
    now = [
        InputFile("/d/a.csv", "csv", 100),
        InputFile("/d/b.csv", "csv", 1990),
        InputFile("/d/c.parquet", "parquet", 10, (10,)),
        InputFile("/d/d.csv", "csv", 7),
    ]
    saved = [asdict(f) for f in planned]
    assert input_changes(saved, now) == [
        "added /d/d.csv",
        "/d/b.csv changed size (2,048 -> 1,990 bytes)",
        "/d/c.parquet has other row groups ((10,))",
    ]
    assert input_changes(saved, planned) == []
    # a run planned before the listing was saved knows its files' paths only
    assert input_changes([{"path": "/d/a.csv"}, {"path": "/d/x.csv"}], planned[:1]) == [
        "removed /d/x.csv"
    ]
