"""Baseline statistics: computed at packaging, and on the fly for artifacts made before."""

import json

import numpy as np
import pandas as pd
from _factories import xgboost_artifact

from ray_apps.artifact import MANIFEST, load_model, verify_artifact
from ray_apps.monitoring import baseline_stats, compute_stats
from ray_apps.monitoring.baseline import STATS_FILE


def test_types_ranges_categories_and_missing_shares():
    frame = pd.DataFrame(
        {
            "x": [0.5, 1.5, np.nan, 3.0, 2.0, 1.0],
            "grade": [1, 2, 2, 3, 1, 1],  # whole numbers, few values: a code column
            "flag": [True, False, True, True, False, True],
            "count": [1, 2, 3, 4, 5, 6],  # whole numbers, all distinct: a quantity
        }
    )
    stats = compute_stats(frame, ["x", "grade", "flag", "count"])
    x, grade, flag, count = stats.columns.values()
    assert (x.kind, x.min, x.max, x.categories) == ("numeric", 0.5, 3.0, None)
    assert x.missing_share == 1 / 6 and grade.missing_share == 0.0
    assert (grade.kind, grade.categories) == ("categorical", [1.0, 2.0, 3.0])
    assert (flag.kind, flag.categories) == ("categorical", [0.0, 1.0])
    assert count.kind == "numeric"
    assert stats.rows == 6 and stats.source == "training data"
    assert type(stats).from_dict(json.loads(json.dumps(stats.to_dict()))) == stats


def test_new_artifacts_hold_statistics_of_all_training_rows(tmp_path):
    art = xgboost_artifact(tmp_path / "a", source="sklearn:breast_cancer")
    assert STATS_FILE in verify_artifact(art)  # in the manifest: checked on every load
    stats = baseline_stats(art)
    assert stats.source == "training data" and stats.names == load_model(art).info.feature_names
    assert stats.columns["mean_radius"].min < stats.columns["mean_radius"].max


def test_old_artifacts_still_load_and_get_statistics_from_their_sample(tmp_path):
    art = xgboost_artifact(tmp_path / "old", source="sklearn:breast_cancer")
    (art / STATS_FILE).unlink()  # as packaged before the file existed
    manifest = json.loads((art / MANIFEST).read_text())
    del manifest["sha256"][STATS_FILE]
    (art / MANIFEST).write_text(json.dumps(manifest))
    load_model(art)
    stats = baseline_stats(art)
    sample = pd.read_parquet(art / "baseline.parquet")
    assert stats.source == "baseline sample" and stats.rows == len(sample)
    assert stats.columns["mean_area"].max == sample["mean_area"].max()
