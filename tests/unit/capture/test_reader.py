"""read_capture: time windows over hour partitions, multi-row and failed requests, collisions."""

from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from ray_apps.capture import CaptureRecord, partition, read_capture, to_table
from ray_apps.capture.schema import file_name
from ray_apps.errors import NotFoundError, SpecError
from ray_apps.prediction import from_scores

FEATURES = ["a", "b"]


def at(hour: int, minute: int) -> float:
    return datetime(2026, 11, 23, hour, minute, tzinfo=UTC).timestamp()


def record(rid, ts, x=None, version="1", features=FEATURES, status=200, **kw):
    pred = None
    if x is not None:
        pred = from_scores(np.tile([0.4, 0.6], (len(x), 1)), "classification", [0, 1])
    return CaptureRecord(ts, rid, "m", version, "v2_infer", status, 2.0, features, x, pred, **kw)


def write(root, *records):
    """One part file, as the writer lays it out."""
    ts = datetime.fromtimestamp(records[0].ts, UTC)
    folder = partition(root, records[0].model, records[0].version, ts)
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(to_table(list(records)), folder / file_name(ts))


@pytest.fixture()
def day(tmp_path):
    for rid, (h, m) in {"r1030": (10, 30), "r1110": (11, 10), "r1150": (11, 50)}.items():
        write(tmp_path, record(rid, at(h, m), np.asarray([[h, m]], float)))
    write(tmp_path, record("r1220", at(12, 20), np.asarray([[12.0, 20.0]])))
    return tmp_path


def test_the_window_is_since_inclusive_until_exclusive_across_hours(day):
    ids = lambda **kw: list(read_capture(day, "m", **kw).request_id)  # noqa: E731
    assert ids() == ["r1030", "r1110", "r1150", "r1220"]
    assert ids(since=datetime(2026, 11, 23, 11, tzinfo=UTC)) == ["r1110", "r1150", "r1220"]
    assert ids(since="2026-11-23T10:45", until="2026-11-23T11:30") == ["r1110"]  # naive: UTC
    assert ids(until=datetime(2026, 11, 23, 11, 50, tzinfo=UTC)) == ["r1030", "r1110"]
    frame = read_capture(day, "m", since="2026-11-23T12:20+00:00")
    assert frame.a.tolist() == [12.0] and str(frame.ts.dtype) == "datetime64[us, UTC]"


def test_partitions_outside_the_window_are_not_opened(day):
    junk = partition(day, "m", "1", datetime(2026, 11, 23, 9, tzinfo=UTC))
    junk.mkdir(parents=True)
    (junk / "part-junk.parquet").write_bytes(b"not parquet")
    assert len(read_capture(day, "m", since="2026-11-23T10:00")) == 4
    with pytest.raises(Exception, match="(?i)parquet"):
        read_capture(day, "m")  # the 09:00 hour is in the window now, and is opened


def test_rows_of_a_request_and_of_a_failed_request(tmp_path):
    x = np.asarray([[1.0, 2.0], [3.0, 4.0]])
    bad = record("bad", at(9, 1), status=400, error="not valid JSON", body=b"{nope")
    write(tmp_path, record("two", at(9, 0), x), bad)
    frame = read_capture(tmp_path, "m", version=1)
    assert list(frame.columns) == [
        "ts", "request_id", "row", "model", "version", "protocol", "status", "latency_ms",
        "variant", "shadow", "a", "b", "prediction", "probabilities", "error", "body",
    ]  # fmt: skip
    assert frame.request_id.tolist() == ["two", "two", "bad"] and frame.row.tolist() == [0, 1, 0]
    assert frame[["a", "b"]].to_numpy()[:2].tolist() == x.tolist()
    assert frame.prediction.tolist()[:2] == [1, 1] and np.stack(frame.probabilities[:2]).shape == (
        2,
        2,
    )
    failed = frame.iloc[2]
    assert (failed.status, failed.error, failed.body) == (400, "not valid JSON", "{nope")
    assert np.isnan(failed.a) and pd.isna(failed.prediction)
    assert set(frame.model) == {"m"} and set(frame.version) == {"1"}


def test_versions_are_filtered_and_unknown_names_listed(tmp_path):
    write(tmp_path, record("v1", at(9, 0), np.ones((1, 2))))
    write(tmp_path, record("v2", at(9, 0), np.ones((1, 2)), version="2"))
    assert read_capture(tmp_path, "m", version=2).request_id.tolist() == ["v2"]
    assert sorted(read_capture(tmp_path, "m").version) == ["1", "2"]
    with pytest.raises(NotFoundError, match=r"versions captured: \['1', '2'\]"):
        read_capture(tmp_path, "m", version=7)
    with pytest.raises(NotFoundError, match=r"models captured there: \['m'\]"):
        read_capture(tmp_path, "iris")
    assert read_capture(tmp_path, "m", since="2030-01-01").empty


def test_a_feature_named_like_a_column_is_refused_unless_prefixed(tmp_path):
    names = ["status", "x"]
    write(tmp_path, record("r", at(9, 0), np.asarray([[7.0, 8.0]]), features=names))
    with pytest.raises(SpecError, match=r"features \['status'\].*feature_prefix"):
        read_capture(tmp_path, "m")
    frame = read_capture(tmp_path, "m", feature_prefix="feature.")
    assert frame["feature.status"].tolist() == [7.0] and frame.status.tolist() == [200]
    assert frame["feature.x"].tolist() == [8.0] and "x" not in frame
