"""McNemar's test: do two models, scored on the SAME rows, differ in accuracy?

Only the discordant rows count: ``b`` rows model A got right and B wrong, ``c`` the reverse.
Under "no difference" each discordant row is a fair coin. With fewer than ``EXACT_BELOW``
(25) discordant rows the p-value is the exact two-sided binomial one, min(1, 2 P(X <= min(b, c)))
for X ~ Binomial(b + c, 1/2); from 25 on, the chi-square statistic with Edwards' continuity
correction, (|b - c| - 1)² / (b + c), on 1 degree of freedom. These are
``statsmodels.stats.contingency_tables.mcnemar(exact=True)`` and ``(exact=False,
correction=True)``; 25 is the usual cut where the approximation becomes adequate.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

import numpy as np

from ray_apps.errors import DataError

EXACT_BELOW = 25


@dataclass(frozen=True)
class McNemarResult:
    b: int  # rows A got right and B wrong
    c: int  # rows A got wrong and B right
    statistic: float  # min(b, c) (exact) or the corrected chi-square
    p_value: float
    method: Literal["exact", "chi2"]

    def to_dict(self) -> dict:
        return asdict(self)


def mcnemar(correct_a: np.ndarray, correct_b: np.ndarray) -> McNemarResult:
    """McNemar's test of two models' per-row correctness on the same rows."""
    a, b = np.asarray(correct_a, dtype=bool), np.asarray(correct_b, dtype=bool)
    if a.shape != b.shape:
        raise DataError(
            f"McNemar's test pairs rows: correct_a has {a.shape}, correct_b {b.shape}; "
            "pass both models' correctness on the same rows, in the same order"
        )
    return mcnemar_counts(int(np.sum(a & ~b)), int(np.sum(~a & b)))


def mcnemar_counts(b: int, c: int) -> McNemarResult:
    """McNemar's test from the discordant counts."""
    from scipy import stats

    n = b + c
    if n < EXACT_BELOW:
        p = min(1.0, 2.0 * float(stats.binom.cdf(min(b, c), n, 0.5))) if n else 1.0
        return McNemarResult(b, c, float(min(b, c)), p, "exact")
    statistic = (abs(b - c) - 1.0) ** 2 / n
    return McNemarResult(b, c, statistic, float(stats.chi2.sf(statistic, 1)), "chi2")
