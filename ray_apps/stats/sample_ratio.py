"""Sample-ratio mismatch: did each arm get the share of requests its weight promised?

A split that delivers 52/48 where 50/50 was configured means the arms do not see the same
traffic (a variant that fails early, sticky routing, a bot), and any comparison of them is
suspect. The check is Pearson's chi-square goodness of fit of the requests per arm against the
weights' shares (``scipy.stats.chisquare``), flagged below ``threshold`` = 0.001, the strict
level usual for SRM (Fabijan et al., "Diagnosing Sample Ratio Mismatch in Online Controlled
Experiments", KDD 2019): the check runs on every readout, so it must rarely cry wolf.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass

import numpy as np

from ray_apps.errors import SpecError

THRESHOLD = 0.001


@dataclass(frozen=True)
class SampleRatioResult:
    observed: dict[str, int]  # requests per arm
    expected: dict[str, float]  # requests per arm the weights promised
    statistic: float  # Pearson's chi-square
    p_value: float
    mismatch: bool  # p_value < threshold

    def to_dict(self) -> dict:
        return asdict(self)


def sample_ratio_mismatch(
    counts: Mapping[str, int], weights: Mapping[str, float], *, threshold: float = THRESHOLD
) -> SampleRatioResult:
    """Chi-square goodness of fit of ``counts`` per arm against the shares of ``weights``.

    An arm counted but not weighted has weight 0: any request it got is a mismatch."""
    from scipy import stats

    if not weights or any(w < 0 for w in weights.values()) or sum(weights.values()) <= 0:
        raise SpecError(
            f"weights={dict(weights)} must give each arm a share >= 0, summing to more than 0 "
            '(e.g. {"stable": 90, "canary": 10})'
        )
    arms = [*weights, *(a for a in counts if a not in weights)]
    observed = np.array([counts.get(a, 0) for a in arms], dtype=float)
    share = np.array([weights.get(a, 0.0) for a in arms], dtype=float) / sum(weights.values())
    expected = observed.sum() * share
    if observed.sum() == 0:
        statistic, p = 0.0, 1.0
    elif np.any((expected == 0) & (observed > 0)):
        statistic, p = float("inf"), 0.0  # requests where no share was configured
    else:
        live = expected > 0
        statistic = float(np.sum((observed[live] - expected[live]) ** 2 / expected[live]))
        p = float(stats.chi2.sf(statistic, max(int(live.sum()) - 1, 1)))
    return SampleRatioResult(
        {a: int(o) for a, o in zip(arms, observed, strict=True)},
        {a: float(e) for a, e in zip(arms, expected, strict=True)},
        statistic,
        p,
        p < threshold,
    )
