"""Scoring one unit without Ray: parts, rejects, ids, predictions, and a rerun's same names."""

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from _factories import xgboost_artifact

from ray_apps.artifact import load_model
from ray_apps.batch.plan import Unit
from ray_apps.batch.transform import UnitContext, committed, score_unit
from ray_apps.data import load_dataset
from ray_apps.errors import DataError
from ray_apps.spec import DatasetSpec


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return load_model(xgboost_artifact(tmp_path_factory.mktemp("art") / "a"))


@pytest.fixture(scope="module")
def rows():
    return load_dataset(DatasetSpec(source="sklearn:iris")).train.head(30).reset_index(drop=True)


def _ctx(run_dir, **kw):
    base = dict(
        run_dir=str(run_dir),
        model_name="iris",
        model_version=2,
        id_column=None,
        keep="all",
        batch_size=7,
        strict=False,
    )
    return UnitContext(**{**base, **kw})


def _csv_with_bad_rows(rows, path):
    frame = rows.astype(object)
    frame.loc[3, "sepal_width_cm"] = "oops"
    frame.loc[11, "petal_length_cm"] = None
    frame.to_csv(path, index=False)
    return path


def test_a_csv_unit_writes_each_row_once_to_output_or_rejects(tmp_path, model, rows):
    path = _csv_with_bad_rows(rows, tmp_path / "in.csv")
    unit = Unit(0, str(path), "csv")
    stats = score_unit(unit, model, _ctx(tmp_path / "run"))

    assert (stats.rows_in, stats.rows_out, stats.rows_rejected) == (30, 28, 2)
    out = pq.read_table(tmp_path / "run/output/part-00000.parquet").to_pandas()
    rej = pq.read_table(tmp_path / "run/rejects/part-00000.parquet").to_pandas()
    assert rej["source_row"].tolist() == [3, 11]
    assert rej["reason"].tolist() == [
        "non-numeric value in feature 'sepal_width_cm'",
        "empty value in feature 'petal_length_cm'",
    ]
    assert sorted(out["source_row"].tolist() + rej["source_row"].tolist()) == list(range(30))
    good = rows.drop(index=[3, 11])
    expected = model.predict(good[model.info.feature_names])
    np.testing.assert_array_equal(out["prediction"].to_numpy(), expected)
    assert np.allclose(np.stack(out["probabilities"]).sum(axis=1), 1.0)
    assert set(out.columns) >= {"source_file", "target", "model", "version", *good.columns}
    assert set(out["version"]) == {2} and set(out["model"]) == {"iris"}
    assert committed(*_local(tmp_path / "run"), unit) == stats


def test_keep_id_with_an_id_column(tmp_path, model, rows):
    frame = rows.assign(key=[f"r{i}" for i in range(len(rows))])
    pq.write_table(pa.Table.from_pandas(frame), tmp_path / "in.parquet", row_group_size=8)
    unit = Unit(1, str(tmp_path / "in.parquet"), "parquet", 1, 3, 8, 16)
    score_unit(unit, model, _ctx(tmp_path / "run", id_column="key", keep="id"))
    out = pq.read_table(tmp_path / "run/output/part-00001.parquet").to_pandas()
    assert list(out.columns) == ["key", "prediction", "probabilities", "model", "version"]
    assert out["key"].tolist() == [f"r{i}" for i in range(8, 24)]


def test_a_rerun_rewrites_the_same_parts(tmp_path, model, rows):
    path = _csv_with_bad_rows(rows, tmp_path / "in.csv")
    unit = Unit(0, str(path), "csv")
    score_unit(unit, model, _ctx(tmp_path / "run"))
    score_unit(unit, model, _ctx(tmp_path / "run"))
    names = sorted(p.name for p in (tmp_path / "run/output").iterdir())
    assert names == ["part-00000.parquet"]  # no temporary or duplicate part left behind
    assert pq.read_table(tmp_path / "run/output").num_rows == 28


def test_strict_writes_no_rejects_but_counts_them(tmp_path, model, rows):
    path = _csv_with_bad_rows(rows, tmp_path / "in.csv")
    stats = score_unit(Unit(0, str(path), "csv"), model, _ctx(tmp_path / "run", strict=True))
    assert stats.rows_rejected == 2 and not (tmp_path / "run/rejects").exists()
    assert "non-numeric value in feature 'sepal_width_cm'" in stats.first_reject
    assert "'source_row': 3" in stats.first_reject


def test_an_absent_id_column_names_the_file_and_its_columns(tmp_path, model, rows):
    rows.to_csv(tmp_path / "in.csv", index=False)
    with pytest.raises(DataError, match="id_column 'key' is not a column of .*in.csv"):
        score_unit(Unit(0, str(tmp_path / "in.csv"), "csv"), model, _ctx(tmp_path, id_column="key"))


def _local(path):
    from ray_apps.batch._storage import filesystem

    return filesystem(str(path))


def _csv_with_malformed_lines(rows, path, bad: dict[int, str]):
    """``rows`` as CSV, the data rows in ``bad`` replaced by a line with too few or too many
    fields."""
    lines = rows.to_csv(index=False).splitlines()
    for i, line in bad.items():
        lines[i + 1] = line
    path.write_text("\n".join(lines) + "\n")
    return path


def test_malformed_lines_of_a_multi_file_csv_set_are_rejected_with_file_and_row(
    tmp_path, model, rows
):
    files = {
        "a.csv": {0: "5.1,3.5", 17: "1,2,3,4,5,6,7"},
        "b.csv": {},
        "c.csv": {29: "4.4"},
    }
    seen_out, seen_rej = [], []
    for i, (name, bad) in enumerate(files.items()):
        path = _csv_with_malformed_lines(rows, tmp_path / name, bad)
        stats = score_unit(Unit(i, str(path), "csv"), model, _ctx(tmp_path / "run"))
        assert (stats.rows_in, stats.rows_out, stats.rows_rejected) == (30, 30 - len(bad), len(bad))
        part = f"part-{i:05d}.parquet"
        out = pq.read_table(tmp_path / "run/output" / part).to_pandas()
        seen_out += [(f, r) for f, r in zip(out["source_file"], out["source_row"], strict=True)]
        # a good row after a bad line keeps its number: its values are that row's
        good = rows.drop(index=list(bad))
        np.testing.assert_allclose(out["sepal_length_cm"], good["sepal_length_cm"])
        assert out["source_row"].tolist() == good.index.tolist()
        if bad:
            rej = pq.read_table(tmp_path / "run/rejects" / part).to_pandas()
            seen_rej += rej.to_dict("records")
    ncols = len(rows.columns)
    assert seen_rej == [
        {"source_file": str(tmp_path / "a.csv"), "source_row": 0,
         "reason": f"expected {ncols} fields, got 2"},
        {"source_file": str(tmp_path / "a.csv"), "source_row": 17,
         "reason": f"expected {ncols} fields, got 7"},
        {"source_file": str(tmp_path / "c.csv"), "source_row": 29,
         "reason": f"expected {ncols} fields, got 1"},
    ]  # fmt: skip
    every = set(seen_out) | {(r["source_file"], r["source_row"]) for r in seen_rej}
    assert len(every) == len(seen_out) + len(seen_rej) == 90


def test_strict_names_the_file_and_line_of_a_malformed_line(tmp_path, model, rows):
    path = _csv_with_malformed_lines(rows, tmp_path / "in.csv", {3: "oops", 20: "1,2"})
    stats = score_unit(Unit(0, str(path), "csv"), model, _ctx(tmp_path / "run", strict=True))
    assert stats.rows_rejected == 2 and not (tmp_path / "run/rejects").exists()
    n = len(rows.columns)
    assert stats.first_reject == (
        f"{path} line 5 (source_row 3) is not a row: expected {n} fields, got 1"
    )


def test_a_malformed_line_has_no_id_but_its_file_and_row(tmp_path, model, rows):
    frame = rows.assign(key=[f"r{i}" for i in range(len(rows))])
    path = _csv_with_malformed_lines(frame, tmp_path / "in.csv", {4: "x,y"})
    score_unit(Unit(0, str(path), "csv"), model, _ctx(tmp_path / "run", id_column="key"))
    rej = pq.read_table(tmp_path / "run/rejects/part-00000.parquet").to_pylist()
    assert rej == [
        {"key": None, "source_file": str(path), "source_row": 4,
         "reason": f"expected {len(frame.columns)} fields, got 2"},
    ]  # fmt: skip


def test_a_retried_unit_removes_only_its_own_leftover_temporaries(tmp_path, model, rows):
    path = _csv_with_bad_rows(rows, tmp_path / "in.csv")
    run = tmp_path / "run"
    score_unit(Unit(1, str(path), "csv"), model, _ctx(run))  # committed: part-00001
    leftovers = {
        run / "output/.part-00000.parquet.tmp-1a2b3c4d": True,
        run / "rejects/.part-00000.parquet.tmp-5e6f7a8b": True,
        run / "units/.part-00000.parquet.json.tmp-9c0d1e2f": True,
        run / "output/.part-00001.parquet.tmp-00000000": False,  # another unit's
        run / "output/.part-000001.parquet.tmp-00000000": False,  # a similar name
    }
    for leftover in leftovers:
        leftover.write_bytes(b"half a part")
    committed_part = (run / "output/part-00001.parquet").read_bytes()

    score_unit(Unit(0, str(path), "csv"), model, _ctx(run))
    assert {p: not p.exists() for p in leftovers} == leftovers
    assert (run / "output/part-00001.parquet").read_bytes() == committed_part
    assert (run / "output/part-00000.parquet").is_file()
