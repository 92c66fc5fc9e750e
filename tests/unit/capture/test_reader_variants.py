"""read_capture of format 3 (variant, shadow) and of format-2 files written before variants."""

import json
from datetime import UTC, datetime

import numpy as np
import pyarrow.parquet as pq
import pytest

from ray_apps.capture import CaptureRecord, partition, read_capture, to_table
from ray_apps.capture.schema import METADATA_KEY, RESERVED, file_name, frame_columns
from ray_apps.errors import SpecError
from ray_apps.prediction import from_scores

FEATURES = ["a", "b"]
TS = datetime(2026, 11, 23, 9, 0, tzinfo=UTC).timestamp()


def record(rid, *, version="1", features=FEATURES, **kw):
    x = np.ones((1, len(features)))
    pred = from_scores(np.asarray([[0.4, 0.6]]), "classification", [0, 1])
    return CaptureRecord(TS, rid, "m", version, "v1_predict", 200, 2.0, features, x, pred, **kw)


def write(root, table, version="1"):
    folder = partition(root, "m", version, datetime.fromtimestamp(TS, UTC))
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, folder / file_name(datetime.fromtimestamp(TS, UTC)))


def format2(records):
    """The table the writer wrote before variants: no variant/shadow columns, format 2."""
    table = to_table(records).drop_columns(["variant", "shadow"])
    info = json.loads(table.schema.metadata[METADATA_KEY]) | {"format": 2}
    return table.replace_schema_metadata({METADATA_KEY: json.dumps(info)})


def test_variant_and_shadow_read_back_before_the_features(tmp_path):
    write(
        tmp_path,
        to_table([record("r1", variant="blue"), record("r1", variant="green", shadow=True)]),
    )
    frame = read_capture(tmp_path, "m")
    assert list(frame.columns) == frame_columns(FEATURES)
    assert list(frame.columns[8:12]) == ["variant", "shadow", "a", "b"]
    assert frame.variant.tolist() == ["blue", "green"] and frame.shadow.tolist() == [False, True]
    assert frame.shadow.dtype == bool


def test_a_format_2_file_reads_as_no_variant_and_no_shadow(tmp_path):
    write(tmp_path, format2([record("old")]), version="1")
    write(tmp_path, to_table([record("new", version="2", variant="v2", shadow=True)]), "2")
    old = read_capture(tmp_path, "m", version=1)
    assert list(old.columns) == frame_columns(FEATURES)
    assert old.variant.tolist() == [None] and old.shadow.tolist() == [False]
    both = read_capture(tmp_path, "m").set_index("request_id")
    assert both.loc["old", "shadow"] == False and both.loc["new", "shadow"] == True  # noqa: E712
    assert both.loc["new", "variant"] == "v2" and both.loc["old", "variant"] is None
    assert both.shadow.dtype == bool


def test_a_feature_named_variant_or_shadow_is_now_reserved(tmp_path):
    assert {"variant", "shadow"} <= set(RESERVED)
    write(tmp_path, to_table([record("r", features=["shadow", "x"])]))
    with pytest.raises(SpecError, match=r"features \['shadow'\].*feature_prefix"):
        read_capture(tmp_path, "m")
    frame = read_capture(tmp_path, "m", feature_prefix="f_")
    assert frame.f_shadow.tolist() == [1.0] and frame.shadow.tolist() == [False]
