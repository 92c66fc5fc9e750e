"""Statistics for comparing model variants on live traffic (numpy/scipy only, no Ray).

``confidence_sequence``: an always-valid interval for the difference of two arms' means, safe
to read after every batch of labels; ``mcnemar``: two models on the same rows;
``sample_ratio``: requests per arm against the configured weights; ``distributions``: two score
distributions (KS); ``proportions``: an arm's accuracy interval (Wilson).
"""

from ray_apps.stats.confidence_sequence import DECISIONS, Decision, Interval, decide, difference_cs
from ray_apps.stats.distributions import KSResult, ks_test
from ray_apps.stats.mcnemar import McNemarResult, mcnemar, mcnemar_counts
from ray_apps.stats.proportions import wilson_interval
from ray_apps.stats.sample_ratio import SampleRatioResult, sample_ratio_mismatch

__all__ = [
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
