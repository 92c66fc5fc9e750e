"""Two-sample Kolmogorov-Smirnov test of two score distributions (``scipy.stats.ks_2samp``)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class KSResult:
    statistic: float  # the largest gap between the two empirical CDFs (nan: an empty sample)
    p_value: float
    n_a: int
    n_b: int

    def to_dict(self) -> dict:
        return asdict(self)


def ks_test(a: np.ndarray, b: np.ndarray) -> KSResult:
    """Two-sided two-sample KS test; NaNs are dropped, an empty side gives nan."""
    from scipy import stats

    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    a, b = a[~np.isnan(a)], b[~np.isnan(b)]
    if not len(a) or not len(b):
        return KSResult(float("nan"), float("nan"), len(a), len(b))
    res = stats.ks_2samp(a, b)
    return KSResult(float(res.statistic), float(res.pvalue), len(a), len(b))
