"""The capture file format: partition folders, typed columns, one row per request row."""

import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from ray_apps.capture import CaptureRecord, feature_column, partition, to_table
from ray_apps.capture.schema import METADATA_KEY, hour_of
from ray_apps.prediction import from_scores

FEATURES = ["a", "b"]


def record(rid, x=None, status=200, ts=1_764_000_000.0, classes=("no", "yes"), **kw):
    pred = None
    if x is not None and status == 200:
        scores = np.tile([0.25, 0.75], (len(x), 1)) if classes else np.arange(len(x)) * 1.5
        task = "classification" if classes else "regression"
        pred = from_scores(scores, task, list(classes))
    return CaptureRecord(ts, rid, "m", "1", "v1_predict", status, 1.0, FEATURES, x, pred, **kw)


def test_partition_is_hive_by_model_version_date_and_hour():
    ts = datetime(2026, 11, 23, 7, 5, tzinfo=UTC)
    folder = partition(Path("/c"), "iris", "3", ts)
    assert folder == Path("/c/model=iris/version=3/date=2026-11-23/hour=07")
    assert hour_of(folder) == datetime(2026, 11, 23, 7, tzinfo=UTC)
    assert hour_of(Path("/c/model=iris/version=3/date=x/hour=07")) is None


def test_a_request_of_n_instances_is_n_rows_and_a_failure_one_row():
    x = np.asarray([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    failed = record("bad", status=400, error="not valid JSON", body=b"{nope")
    table = to_table([record("r1", x), failed, record("r2", x[:1])])
    rows = table.to_pylist()
    assert [(r["request_id"], r["row"]) for r in rows] == [
        ("r1", 0),
        ("r1", 1),
        ("r1", 2),
        ("bad", 0),
        ("r2", 0),
    ]
    assert [r[feature_column("b")] for r in rows] == [2.0, 4.0, 6.0, None, 2.0]
    assert [r["prediction"] for r in rows] == ["yes", "yes", "yes", None, "yes"]
    assert rows[0]["probabilities"] == [0.25, 0.75] and rows[3]["probabilities"] is None
    assert (rows[3]["status"], rows[3]["error"], rows[3]["body"]) == (
        400,
        "not valid JSON",
        "{nope",
    )
    assert rows[0]["body"] is None and rows[0]["error"] is None
    meta = json.loads(table.schema.metadata[METADATA_KEY])
    assert meta == {"format": 3, "features": FEATURES, "classes": ["no", "yes"]}


def test_a_regressor_has_values_and_no_probabilities():
    table = to_table([record("r", np.ones((2, 2)), classes=())])
    assert "probabilities" not in table.column_names
    assert table.column("prediction").to_pylist() == [0.0, 1.5]


@pytest.mark.parametrize("body", [b"\xff" * 20_000, "x" * 20_000])
def test_a_raw_body_is_kept_as_text_up_to_10000_characters(body):
    table = to_table([record("bad", status=400, error="e", body=body)])
    assert len(table.column("body")[0].as_py()) == 10_000


def test_variant_and_shadow_are_columns_of_every_row_of_a_request():
    x = np.ones((2, 2))
    table = to_table(
        [record("prod", x, variant="blue"), record("copy", x[:1], variant="green", shadow=True)]
        + [record("plain", x[:1])]
    )
    assert str(table.schema.field("variant").type) == "string"
    assert str(table.schema.field("shadow").type) == "bool"
    assert table.column("variant").to_pylist() == ["blue", "blue", "green", None]
    assert table.column("shadow").to_pylist() == [False, False, True, False]
    # The frame's order: metadata, variant and shadow, then the features.
    assert table.column_names.index("shadow") + 1 == table.column_names.index(feature_column("a"))
