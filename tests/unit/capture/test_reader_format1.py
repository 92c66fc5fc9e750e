"""Files of capture format 1 (JSON ``inputs``/``outputs``, one row per request) read into the
same table as format 2. ``write_format1`` is the old writer's ``_write``, schema verbatim."""

import json
from datetime import UTC, datetime

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ray_apps.capture import partition, read_capture
from ray_apps.errors import DataError

FEATURES = ["sepal length (cm)", "sepal width (cm)", "petal length (cm)", "petal width (cm)"]
ROW = [5.1, 3.5, 1.4, 0.2]
TS = datetime(2026, 11, 23, 11, 5, 12, tzinfo=UTC)


def _dumps(value):
    if isinstance(value, str):
        return value
    if hasattr(value, "tolist"):
        value = value.tolist()
    return json.dumps(value, separators=(",", ":"))


def write_format1(root, rows):
    """serve/capture.py's ``_write`` before 2026-11-24 (one model version, one hour)."""
    folder = partition(root, "iris", "2", TS)
    folder.mkdir(parents=True, exist_ok=True)
    table = pa.table(
        {
            "ts": pa.array([r["ts"] for r in rows], pa.timestamp("us", tz="UTC")),
            "request_id": [r["request_id"] for r in rows],
            "protocol": [r["protocol"] for r in rows],
            "status": pa.array([r["status"] for r in rows], pa.int32()),
            "latency_ms": [r["latency_ms"] for r in rows],
            "inputs": [_dumps(r["inputs"]) for r in rows],
            "outputs": [_dumps(r["outputs"]) for r in rows],
        }
    )
    pq.write_table(table, folder / "part-20261123T110512-1a2b3c4d.parquet")


V1_ANSWER = {
    "predictions": [0, 2],
    "model_name": "iris",
    "model_version": "2",
    "probabilities": [[0.9, 0.05, 0.05], [0.1, 0.1, 0.8]],
    "classes": [0, 1, 2],
}
V2_ANSWER = {
    "model_name": "iris",
    "model_version": "2",
    "id": "x",
    "parameters": {"classes": [0, 1, 2]},
    "outputs": [
        {"name": "predict", "shape": [1], "datatype": "INT64", "data": [1]},
        {"name": "probabilities", "shape": [1, 3], "datatype": "FP64", "data": [0.2, 0.7, 0.1]},
    ],
}


def _rows():
    base = {"ts": TS, "latency_ms": 1.2}
    return [
        {**base, "request_id": "v1", "protocol": "v1_predict", "status": 200,
         "inputs": np.asarray([ROW, [6.0, 3.0, 4.8, 1.8]]), "outputs": V1_ANSWER},
        {**base, "request_id": "v2", "protocol": "v2_infer", "status": 200,
         "inputs": np.asarray([ROW]), "outputs": V2_ANSWER},
        {**base, "request_id": "bad", "protocol": "v1_predict", "status": 400,
         "inputs": '{"instances": [1,', "outputs": {"error": "not valid JSON"}},
    ]  # fmt: skip


def test_format1_reads_into_the_format2_table(tmp_path):
    write_format1(tmp_path, _rows())
    frame = read_capture(tmp_path, "iris", features=FEATURES)
    assert list(frame.columns) == [
        "ts", "request_id", "row", "model", "version", "protocol", "status", "latency_ms",
        "variant", "shadow", *FEATURES, "prediction", "probabilities", "error", "body",
    ]  # fmt: skip
    assert frame.variant.isna().all() and not frame.shadow.any()  # before variants
    assert frame.request_id.tolist() == ["bad", "v1", "v1", "v2"]
    ok = frame[frame.status == 200]
    assert ok[FEATURES].to_numpy().tolist() == [ROW, [6.0, 3.0, 4.8, 1.8], ROW]
    assert ok.prediction.tolist() == [0, 2, 1] and ok.row.tolist() == [0, 1, 0]
    assert [list(p) for p in ok.probabilities] == [
        [0.9, 0.05, 0.05],
        [0.1, 0.1, 0.8],
        [0.2, 0.7, 0.1],
    ]
    bad = frame.iloc[0]
    assert (bad.status, bad.error, bad.body) == (400, "not valid JSON", '{"instances": [1,')
    assert np.isnan(bad[FEATURES[0]]) and str(frame.ts.dtype) == "datetime64[us, UTC]"


def test_format1_takes_feature_names_from_a_format2_file_of_the_version(tmp_path):
    from ray_apps.capture import CaptureRecord, to_table
    from ray_apps.prediction import from_scores

    write_format1(tmp_path, _rows())
    later = datetime(2026, 11, 23, 12, tzinfo=UTC)
    pred = from_scores(np.asarray([[0.1, 0.8, 0.1]]), "classification", [0, 1, 2])
    new = CaptureRecord(
        later.timestamp(), "new", "iris", "2", "v1_predict", 200, 1.0, FEATURES,
        np.asarray([ROW]), pred,
    )  # fmt: skip
    folder = partition(tmp_path, "iris", "2", later)
    folder.mkdir(parents=True)
    pq.write_table(to_table([new]), folder / "part-new.parquet")
    frame = read_capture(tmp_path, "iris", until=later)  # only the format-1 hour is read
    assert frame.request_id.tolist() == ["bad", "v1", "v1", "v2"]
    assert frame[FEATURES[0]].tolist()[1:] == [5.1, 6.0, 5.1]
    both = read_capture(tmp_path, "iris")
    assert both.request_id.tolist()[-1] == "new" and both.prediction.tolist()[-1] == 1


def test_format1_without_feature_names_says_how_to_give_them(tmp_path):
    write_format1(tmp_path, _rows())
    with pytest.raises(DataError, match="features="):
        read_capture(tmp_path, "iris")
