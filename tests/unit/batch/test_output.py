"""read_output: a batch run's committed output in read_capture's shape, never a partial unit."""

import json
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from _factories import xgboost_artifact

from ray_apps.artifact import load_model
from ray_apps.batch import read_output
from ray_apps.batch.plan import list_input, plan_units
from ray_apps.batch.transform import UnitContext, score_unit
from ray_apps.capture import CaptureRecord, partition, read_capture, to_table
from ray_apps.capture.schema import file_name
from ray_apps.data import load_dataset
from ray_apps.errors import DataError, NotFoundError
from ray_apps.prediction import from_scores
from ray_apps.spec import DatasetSpec


class Died(Exception):
    pass


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return load_model(xgboost_artifact(tmp_path_factory.mktemp("art") / "a"))


@pytest.fixture(scope="module")
def rows():
    frame = load_dataset(DatasetSpec(source="sklearn:iris")).train.head(40)
    return frame.reset_index(drop=True).assign(key=[f"r{i}" for i in range(40)])


def run(tmp_path, model, rows, *, commit_second=False, **ctx):
    """A run folder of two CSV units: the first committed, the second's part written and then
    its worker died before committing (unless ``commit_second``)."""
    (tmp_path / "in").mkdir()
    rows.head(25).to_csv(tmp_path / "in/a.csv", index=False)
    rows.tail(15).to_csv(tmp_path / "in/b.csv", index=False)
    units = plan_units(list_input(str(tmp_path / "in")), 100)
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    plan = {"input_fingerprint": "x", "units": [u.to_dict() for u in units]}
    (run_dir / "plan.json").write_text(json.dumps(plan))
    base = dict(id_column=None, keep="all", batch_size=10, strict=False)
    context = UnitContext(str(run_dir), "iris", 2, **{**base, **ctx})
    score_unit(units[0], model, context)

    def die():
        raise Died

    if commit_second:
        score_unit(units[1], model, context)
    else:
        with pytest.raises(Died):
            score_unit(units[1], model, context, before_commit=die)
    assert (run_dir / "output" / "part-00001.parquet").is_file()  # written, maybe not committed
    return run_dir


def captured(tmp_path, model, x):
    """The same rows as the capture writer lays them out, read back with read_capture."""
    info = model.info
    pred = from_scores(model.predict_matrix(x), info.task, info.classes)
    ts = datetime(2026, 11, 24, 10, 5, tzinfo=UTC)
    rec = CaptureRecord(ts.timestamp(), "q1", "iris", "2", "v1_predict", 200, 1.0,
                        info.feature_names, x, pred)  # fmt: skip
    folder = partition(tmp_path / "capture", "iris", "2", ts)
    folder.mkdir(parents=True)
    pq.write_table(to_table([rec]), folder / file_name(ts))
    return read_capture(tmp_path / "capture", "iris", version=2)


def test_only_committed_units_in_the_shape_read_capture_gives(tmp_path, model, rows):
    run_dir = run(tmp_path, model, rows)
    frame = read_output(str(run_dir))
    features = model.info.feature_names
    assert len(frame) == 25  # unit 1's part exists but was never committed
    assert set(frame.request_id) == {str(tmp_path / "in/a.csv")}
    assert frame.row.tolist() == list(range(25))
    assert (frame.model.unique().tolist(), frame.version.unique().tolist()) == (["iris"], ["2"])
    assert set(frame.protocol) == {"batch"} and set(frame.status) == {200}
    x = rows.head(25)[features].to_numpy(float)
    np.testing.assert_array_equal(frame[features].to_numpy(), x)
    np.testing.assert_array_equal(frame.prediction.to_numpy(), model.predict(rows.head(25)))
    assert np.allclose(np.stack(frame.probabilities).sum(axis=1), 1.0)
    ts = frame.ts.iloc[0]
    assert abs(pd.Timestamp.now(tz="UTC") - ts) < pd.Timedelta(minutes=5)

    capture = captured(tmp_path, model, x)
    assert list(frame.columns) == list(capture.columns)
    assert frame.dtypes.to_dict() == capture.dtypes.to_dict()
    pd.testing.assert_frame_equal(  # same model, same rows: same predictions either way
        frame[[*features, "prediction"]], capture[[*features, "prediction"]]
    )

    assert len(read_output(str(run_dir / "output"))) == 25  # the output folder works too


def test_every_committed_unit_is_read_in_plan_order(tmp_path, model, rows):
    frame = read_output(str(run(tmp_path, model, rows, commit_second=True)))
    assert len(frame) == 40
    assert frame.request_id.str.endswith(("a.csv", "b.csv")).all()
    assert frame.row.tolist() == list(range(25)) + list(range(15))


def test_an_id_column_names_the_rows(tmp_path, model, rows):
    frame = read_output(str(run(tmp_path, model, rows, id_column="key")))
    assert frame.request_id.tolist() == [f"r{i}" for i in range(25)]
    assert set(frame.row) == {0}


def test_a_run_that_kept_only_ids_or_no_run_is_refused(tmp_path, model, rows):
    with pytest.raises(DataError, match="keep: id"):
        read_output(str(run(tmp_path, model, rows, keep="id")))
    with pytest.raises(NotFoundError, match="not a batch run"):
        read_output(str(tmp_path / "in"))
