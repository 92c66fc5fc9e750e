"""Which rows the model takes, the reasons for the rest, and the row-id rules."""

import numpy as np
import pyarrow as pa

from ray_apps.batch.rows import row_ids, screen


def test_rejects_name_the_first_bad_feature():
    table = pa.table(
        {
            "a": ["1", "x", "", "nan", "inf", "2.5", "3"],
            "b": [1.0, 2.0, 3.0, 4.0, 5.0, float("nan"), -1.0],
        }
    )
    s = screen(table, ["a", "b"])
    assert s.reasons == [
        None,
        "non-numeric value in feature 'a'",
        "empty value in feature 'a'",
        "NaN in feature 'a'",
        "infinite value in feature 'a'",
        "NaN in feature 'b'",
        None,
    ]
    assert s.ok.tolist() == [True, False, False, False, False, False, True]
    np.testing.assert_array_equal(s.x, [[1.0, 1.0], [3.0, -1.0]])


def test_a_missing_feature_column_rejects_every_row():
    s = screen(pa.table({"a": [1.0, 2.0]}), ["a", "b"])
    assert s.reasons == ["missing column for feature 'b'"] * 2
    assert s.x.shape == (0, 2)


def test_features_are_taken_in_the_models_order():
    s = screen(pa.table({"b": [2.0], "a": [1.0], "other": ["z"]}), ["a", "b"])
    np.testing.assert_array_equal(s.x, [[1.0, 2.0]])


def test_row_id_is_file_and_row_number_or_the_id_column():
    table = pa.table({"key": ["k1", "k2"], "a": [1, 2]})
    ids = row_ids(table, None, "/d/a.parquet", np.array([80, 82]))
    assert ids["source_file"].to_pylist() == ["/d/a.parquet"] * 2
    assert ids["source_row"].to_pylist() == [80, 82]
    assert row_ids(table, "key", "/d/a.parquet", np.array([80, 82]))["key"].to_pylist() == [
        "k1",
        "k2",
    ]


def test_typed_number_columns_reject_null_nan_and_infinity_like_text_does():
    # Parquet's typed columns take a fast path that parses nothing; its rules are the same.
    table = pa.table(
        {
            "i": pa.array([1, None, 3, 4], pa.int64()),
            "f": pa.array([0.5, 1.5, None, float("-inf")], pa.float32()),
        }
    )
    s = screen(table, ["i", "f"])
    assert s.reasons == [
        None,
        "NaN in feature 'i'",
        "NaN in feature 'f'",
        "infinite value in feature 'f'",
    ]
    np.testing.assert_array_equal(s.x, [[1.0, 0.5]])
    assert s.x.dtype == np.float64
