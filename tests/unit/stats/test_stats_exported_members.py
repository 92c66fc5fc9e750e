"""Pins the public surface of ``ray_apps.stats``."""

from ray_apps import stats


def test_stats_public_names():
    assert sorted(stats.__all__) == [
        "DECISIONS",
        "Decision",
        "Interval",
        "KSResult",
        "McNemarResult",
        "SampleRatioResult",
        "decide",
        "difference_cs",
        "ks_test",
        "mcnemar",
        "mcnemar_counts",
        "sample_ratio_mismatch",
        "wilson_interval",
    ]
    for name in stats.__all__:
        assert getattr(stats, name) is not None
