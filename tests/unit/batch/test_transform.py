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
