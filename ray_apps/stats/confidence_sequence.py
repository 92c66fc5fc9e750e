"""An always-valid confidence sequence for the difference of two arms' means (B minus A).

    cs = difference_cs(correct_a, correct_b, alpha=0.05, tuning_n=5000)
    decide(cs)                 # "B better" | "A better" | "no difference yet"

A fixed-horizon t-test looked at after every batch of labels declares a winner between two
identical arms far more often than ``alpha`` (each look is another chance). A confidence
sequence holds for all sample sizes at once: the chance that it EVER excludes the true
difference is at most ``alpha``, so it can be read after every batch and the experiment stopped
as soon as it excludes 0.

The method is the asymptotic confidence sequence of Waudby-Smith, Arbour, Sinha, Kennedy and
Ramdas, "Time-uniform central limit theory and asymptotic confidence sequences" (Annals of
Statistics, 2024; arXiv:2103.06476), with the normal-mixture boundary (their eq. 9 / Theorem 2.2):

    estimate ± sigma * sqrt( 2 (N rho² + 1) / (N² rho²) * log( sqrt(N rho² + 1) / alpha ) )

applied to the two-sample difference as GrowthBook's ``gbstats`` sequential test does:
N = n_A + n_B, sigma² = N * (s_A²/n_A + s_B²/n_B) with sample variances (ddof 1), and
rho = sqrt((-2 log alpha + log(-2 log alpha + 1)) / tuning_n), the rho that makes the sequence
narrowest at N = ``tuning_n`` (their eq. 161). Pick ``tuning_n`` near the total sample size at
which a decision is expected; any value keeps the guarantee, a poor one only widens the interval.

The guarantee is asymptotic (it relies on the central limit theorem for the running means):
with fewer than 2 observations in an arm, or no spread in either, the interval is infinite.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

import numpy as np

from ray_apps.errors import SpecError

Decision = Literal["B better", "A better", "no difference yet"]
DECISIONS: tuple[Decision, ...] = ("B better", "A better", "no difference yet")


@dataclass(frozen=True)
class Interval:
    """The confidence sequence of mean(B) - mean(A) at the current sample sizes."""

    lower: float
    upper: float
    estimate: float  # mean(B) - mean(A); nan when an arm has no observation
    n_a: int
    n_b: int
    alpha: float
    p_value: float  # always-valid p-value of "no difference" (1.0 when it cannot be judged)

    def to_dict(self) -> dict[str, float | int]:
        return asdict(self)


def rho(alpha: float, tuning_n: float) -> float:
    """The mixture's rho that makes the sequence narrowest after ``tuning_n`` observations."""
    log_a = -2.0 * np.log(alpha)
    return float(np.sqrt((log_a + np.log(log_a + 1.0)) / tuning_n))


def half_width(
    variance: np.ndarray | float, n: np.ndarray | float, alpha: float, tuning_n: float
) -> np.ndarray:
    """Half-width of the sequence for an estimate of ``variance`` (s_A²/n_A + s_B²/n_B) after
    ``n`` = n_A + n_B observations. Broadcasts, so simulations use the same code path."""
    n = np.asarray(n, dtype=float)
    r2 = rho(alpha, tuning_n) ** 2
    sigma2 = n * np.asarray(variance, dtype=float)
    return np.sqrt(
        sigma2 * 2.0 * (n * r2 + 1.0) / (n**2 * r2) * np.log(np.sqrt(n * r2 + 1.0) / alpha)
    )


def p_value(
    estimate: np.ndarray | float, variance: np.ndarray | float, n: np.ndarray | float,
    alpha: float, tuning_n: float,
) -> np.ndarray:  # fmt: skip
    """The always-valid p-value of "no difference": 1 / the mixture e-value (the paper's
    eq. 155), capped at 1; it is below ``alpha`` exactly when the interval excludes 0."""
    n = np.asarray(n, dtype=float)
    r2 = rho(alpha, tuning_n) ** 2
    t2 = np.asarray(estimate, dtype=float) ** 2 / np.asarray(variance, dtype=float)
    log_e = r2 * n * t2 / (2.0 * (n * r2 + 1.0)) - 0.5 * np.log(n * r2 + 1.0)
    return np.minimum(1.0, np.exp(-log_e))


def difference_cs(
    a: np.ndarray, b: np.ndarray, alpha: float = 0.05, *, tuning_n: float = 5000
) -> Interval:
    """The confidence sequence of mean(b) - mean(a) from per-row values of each arm."""
    if not 0 < alpha < 1:
        raise SpecError(f"alpha={alpha} must be between 0 and 1 (e.g. 0.05)")
    if tuning_n <= 0:
        raise SpecError(f"tuning_n={tuning_n} must be positive: the expected total sample size")
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    n_a, n_b = len(a), len(b)
    estimate = float(b.mean() - a.mean()) if n_a and n_b else float("nan")
    if n_a < 2 or n_b < 2:
        return Interval(-np.inf, np.inf, estimate, n_a, n_b, alpha, 1.0)
    variance = a.var(ddof=1) / n_a + b.var(ddof=1) / n_b
    if variance == 0:  # no spread: the normal approximation says nothing yet
        return Interval(-np.inf, np.inf, estimate, n_a, n_b, alpha, 1.0)
    width = float(half_width(variance, n_a + n_b, alpha, tuning_n))
    p = float(p_value(estimate, variance, n_a + n_b, alpha, tuning_n))
    return Interval(estimate - width, estimate + width, estimate, n_a, n_b, alpha, p)


def decide(interval: Interval, *, higher_is_better: bool = True) -> Decision:
    """Which arm is better, once the sequence excludes 0; else "no difference yet"."""
    if interval.lower > 0:
        return "B better" if higher_is_better else "A better"
    if interval.upper < 0:
        return "A better" if higher_is_better else "B better"
    return "no difference yet"
