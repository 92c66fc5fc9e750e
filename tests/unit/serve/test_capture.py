"""The capture writer: sampling, buffering off the request path, typed files on close."""

import random
import time

import numpy as np
import pyarrow.parquet as pq

from ray_apps.capture import read_capture
from ray_apps.prediction import from_scores
from serve.capture import CaptureWriter

FEATURES = ["a", "b"]


def _add(writer, i, model="m", version=1, rows=1):
    x = np.asarray([[float(i), 1.0]] * rows)
    scores = np.tile([0.25, 0.75], (rows, 1))
    writer.add(
        request_id=f"r{i}",
        model=model,
        version=version,
        protocol="v1_predict",
        status=200,
        latency_ms=1.5,
        features=FEATURES,
        inputs=x,
        prediction=from_scores(scores, "classification", ["no", "yes"]),
    )


def test_close_writes_every_record_into_hive_partitions(tmp_path):
    writer = CaptureWriter(tmp_path, 100, flush_interval_s=3600)  # only close() writes
    for i in range(50):
        _add(writer, i, version=1 + i % 2)
    writer.close()
    files = sorted(tmp_path.rglob("part-*.parquet"))
    assert len(files) == 2 and writer.written == 50
    assert {f.parent.parent.parent.name for f in files} == {"version=1", "version=2"}
    assert files[0].parent.name.startswith("hour=") and files[0].parent.parent.name.startswith(
        "date="
    )
    assert not list(tmp_path.rglob("*.tmp"))
    frame = read_capture(tmp_path, "m")
    assert sorted(frame.request_id) == sorted(f"r{i}" for i in range(50))
    row = frame[frame.request_id == "r7"].iloc[0]
    assert (row.a, row.b, row.prediction, list(row.probabilities)) == (
        7.0,
        1.0,
        "yes",
        [0.25, 0.75],
    )
    assert str(frame.ts.dtype) == "datetime64[us, UTC]"


def test_features_and_outputs_are_typed_columns_in_the_file(tmp_path):
    writer = CaptureWriter(tmp_path, 100, flush_interval_s=3600)
    _add(writer, 3, rows=2)
    writer.add(
        request_id="bad",
        model="m",
        version=1,
        protocol="v2_infer",
        status=400,
        latency_ms=0.5,
        features=FEATURES,
        error="not valid JSON",
        body=b"{nope",
    )
    writer.close()
    (file,) = tmp_path.rglob("part-*.parquet")
    table = pq.read_table(file)
    types = {f.name: str(f.type) for f in table.schema}
    assert types["feature.a"] == types["feature.b"] == "double"
    assert (
        types["probabilities"].startswith("list<")
        and "double" in types["probabilities"]
        and types["row"] == "int32"
    )
    assert "inputs" not in types and "outputs" not in types
    rows = table.to_pylist()
    assert [(r["request_id"], r["row"], r["feature.a"]) for r in rows] == [
        ("r3", 0, 3.0),
        ("r3", 1, 3.0),
        ("bad", 0, None),
    ]
    assert (rows[2]["body"], rows[2]["error"], rows[2]["prediction"]) == (
        "{nope",
        "not valid JSON",
        None,
    )


def test_full_buffer_flushes_before_the_interval(tmp_path):
    writer = CaptureWriter(tmp_path, 100, flush_interval_s=3600, flush_rows=10)
    for i in range(10):
        _add(writer, i)
    deadline = time.monotonic() + 10
    while writer.written < 10 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert writer.written == 10
    writer.close()


def test_share_samples_about_that_share(tmp_path):
    writer = CaptureWriter(tmp_path, 25, rng=random.Random(0))
    hits = sum(writer.sampled() for _ in range(4000))
    writer.close()
    assert 850 < hits < 1150
    assert not CaptureWriter(tmp_path, 0).sampled()


def test_variant_and_shadow_are_written_with_the_record(tmp_path):
    writer = CaptureWriter(tmp_path, 100, flush_interval_s=3600)
    for rid, variant, shadow in [("r", "blue", False), ("r", "green", True), ("p", None, False)]:
        writer.add(
            request_id=rid,
            model="m",
            version=1,
            protocol="v1_predict",
            status=200,
            latency_ms=1.0,
            features=FEATURES,
            inputs=np.ones((1, 2)),
            prediction=from_scores(np.asarray([[0.5, 0.5]]), "classification", ["no", "yes"]),
            variant=variant,
            shadow=shadow,
        )
    writer.close()
    frame = read_capture(tmp_path, "m").sort_values(["request_id", "shadow"])
    assert frame[["request_id", "variant", "shadow"]].values.tolist() == [
        ["p", None, False],
        ["r", "blue", False],
        ["r", "green", True],
    ]
