"""Calibration of a binary classifier: the binned reliability curve, its error, the Brier score.

The probabilities are cut into ``bins`` equal-width bins of [0, 1]; in each non-empty bin the
mean predicted probability is set against the share of rows that were positive. The expected
calibration error (ECE) is the row-weighted mean gap, the maximum (MCE) the largest one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class CalibrationBin:
    low: float
    high: float
    count: int
    mean_predicted: float
    observed: float  # share of positives


@dataclass(frozen=True)
class Calibration:
    positive_class: str
    brier: float
    expected_error: float  # ECE
    max_error: float  # MCE
    bins: list[CalibrationBin] = field(default_factory=list)


def calibration(positive, probability, *, bins: int = 10, positive_class: str = "1") -> Calibration:
    """``positive``: 1/0 (or True/False) per row; ``probability``: the predicted P(positive)."""
    y = np.asarray(positive, dtype=float)
    p = np.clip(np.asarray(probability, dtype=float), 0.0, 1.0)
    edges = np.round(np.linspace(0.0, 1.0, bins + 1), 12)
    # bin i holds [edges[i], edges[i+1]); a probability of exactly 1 goes to the last bin
    index = np.minimum(np.searchsorted(edges, p, side="right") - 1, bins - 1)
    curve = []
    for i in range(bins):
        mask = index == i
        if mask.any():
            curve.append(
                CalibrationBin(
                    float(edges[i]),
                    float(edges[i + 1]),
                    int(mask.sum()),
                    float(p[mask].mean()),
                    float(y[mask].mean()),
                )
            )
    gaps = np.array([abs(b.mean_predicted - b.observed) for b in curve])
    weights = np.array([b.count for b in curve], dtype=float) / max(len(y), 1)
    return Calibration(
        positive_class=str(positive_class),
        brier=float(np.mean((p - y) ** 2)) if len(y) else float("nan"),
        expected_error=float(np.sum(weights * gaps)) if curve else float("nan"),
        max_error=float(gaps.max()) if curve else float("nan"),
        bins=curve,
    )
