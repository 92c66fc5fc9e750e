"""Wilson score interval for a proportion (an arm's accuracy): good at small n and near 0 or 1,
where the normal "p ± z sqrt(p(1-p)/n)" interval leaves [0, 1] or collapses to a point."""

from __future__ import annotations

import numpy as np


def wilson_interval(successes: int, n: int, alpha: float = 0.05) -> tuple[float, float]:
    """The (lower, upper) Wilson score interval of ``successes`` out of ``n``; (0, 1) at n=0."""
    from scipy import stats

    if n == 0:
        return 0.0, 1.0
    z = float(stats.norm.ppf(1 - alpha / 2))
    p = successes / n
    centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z / (1 + z**2 / n) * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2))
    return float(max(0.0, centre - half)), float(min(1.0, centre + half))
