"""Training health rules: pure functions of a rule's parameters and what the run has shown.

Each rule looks at the run's evaluations so far (one mapping per epoch or round, oldest first,
with the signals the loop reports: ``train_loss``, ``val_loss``, ``grad_norm``,
``grad_abs_mean``, ``update_ratio``, ``nonfinite``, ``epoch_time_s``, ``rank_step_time_s``,
``gpu_utilization``, and ``t``, the wall time it was recorded) and at the clock, and returns a
:class:`Finding` when it fires, else None. No Ray, no I/O: the training session calls them
(``ray_apps.training.health``), tests call them with numbers.

Defaults are SageMaker Debugger's built-in rules' where Debugger has one (LossNotDecreasing:
num_steps 10; Overfit: ratio 0.1, patience 1; Overtraining: patience 5 / 10, delta 0.01;
VanishingGradient: 1e-7; WeightUpdateRatio: 10 and 1e-8; StepOutlier: 3 σ, 10 outliers;
stalled: 1800 s; max initialisation: 20 min).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

Evaluation = Mapping[str, Any]


@dataclass(frozen=True)
class Observed:
    """What a rule may look at: the evaluations so far, when the run started, and now."""

    history: Sequence[Evaluation]
    started_at: float
    now: float


@dataclass(frozen=True)
class Finding:
    rule: str
    epoch: int | None
    value: float | None
    message: str


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# -- the rules ----------------------------------------------------------------------------------


class NonfiniteParams(_Params):
    signals: tuple[str, ...] = ("train_loss", "val_loss", "grad_norm")


def nonfinite(p: NonfiniteParams, o: Observed) -> Finding | None:
    """Any NaN or infinity in the loss or the gradients (a count ``nonfinite`` > 0 too)."""
    if not o.history:
        return None
    last = o.history[-1]
    for name in p.signals:
        value = last.get(name)
        if isinstance(value, int | float) and not math.isfinite(value):
            return _found("nonfinite", last, value, f"{name} is {value} at {_at(last)}")
    if (last.get("nonfinite") or 0) > 0:
        count = last["nonfinite"]
        return _found("nonfinite", last, count, f"{count:g} non-finite values at {_at(last)}")
    return None


class LossNotDecreasingParams(_Params):
    num_steps: int = Field(10, ge=1, description="evaluations to look back")
    diff_percent: float = Field(0.0, ge=0, description="least decrease, percent of the old loss")
    signal: str = "train_loss"


def loss_not_decreasing(p: LossNotDecreasingParams, o: Observed) -> Finding | None:
    """The loss did not fall by ``diff_percent`` % over the last ``num_steps`` evaluations."""
    values = _series(o.history, p.signal)
    if len(values) <= p.num_steps:
        return None
    before, now = values[-1 - p.num_steps], values[-1]
    fell = (before - now) / abs(before) * 100 if before else -math.inf
    if fell > p.diff_percent:
        return None
    return _found(
        "loss_not_decreasing",
        o.history[-1],
        now,
        f"{p.signal} {now:.4g} at {_at(o.history[-1])} is not {p.diff_percent:g} % below "
        f"{before:.4g} of {p.num_steps} evaluations before",
    )


class OverfitParams(_Params):
    ratio_threshold: float = Field(0.1, gt=0, description="(val − train) / train above this")
    # 3, not Debugger's 1: one epoch's validation above its best is noise on small data.
    patience: int = Field(3, ge=1, description="evaluations in a row")
    start_step: int = Field(0, ge=0, description="ignore epochs before this one")


def overfit(p: OverfitParams, o: Observed) -> Finding | None:
    """Validation loss above training loss by ``ratio_threshold`` for ``patience`` evaluations,
    and above its own best so far."""
    rows = [
        r
        for r in o.history
        if _num(r.get("train_loss")) and _num(r.get("val_loss")) and _epoch(r) >= p.start_step
    ]
    if len(rows) < p.patience:
        return None
    ratios = [(r["val_loss"] - r["train_loss"]) / abs(r["train_loss"]) for r in rows]
    if not all(x > p.ratio_threshold for x in ratios[-p.patience :]):
        return None
    # A gap alone is how boosting and small data always look while validation still improves
    # (seen on every example job); overfitting is the gap while validation got worse than
    # its best so far.
    best = min(r["val_loss"] for r in rows)
    if not all(r["val_loss"] > best for r in rows[-p.patience :]):
        return None
    last = rows[-1]
    return _found(
        "overfit",
        last,
        ratios[-1],
        f"val_loss {last['val_loss']:.4g} is {ratios[-1]:.0%} above train_loss "
        f"{last['train_loss']:.4g} at {_at(last)} (threshold {p.ratio_threshold:.0%}, "
        f"{p.patience} evaluation(s) in a row)",
    )


class OvertrainingParams(_Params):
    patience_train: int = Field(5, ge=1)
    patience_validation: int = Field(10, ge=1)
    delta: float = Field(
        0.01, ge=0, description="least improvement of the best loss, as a fraction of it"
    )
    train_signal: str = "train_loss"
    validation_signal: str = "val_loss"


def overtraining(p: OvertrainingParams, o: Observed) -> Finding | None:
    """The best validation (or training) loss has not improved by ``delta`` for its patience."""
    for signal, patience in (
        (p.validation_signal, p.patience_validation),
        (p.train_signal, p.patience_train),
    ):
        values = _series(o.history, signal)
        if len(values) <= patience:
            continue
        best_before = min(values[:-patience])
        best_since = min(values[-patience:])
        # Relative: Debugger's absolute 0.01 is most of a 0.03 log loss and nothing of a 5,000
        # MSE; 1 % of the best means the same on both.
        if best_before - best_since < p.delta * abs(best_before):
            return _found(
                "overtraining",
                o.history[-1],
                best_since,
                f"{signal} has not improved by {p.delta:.0%} in {patience} evaluations "
                f"(best {best_before:.4g} before, {best_since:.4g} since)",
            )
    return None


class VanishingGradientParams(_Params):
    threshold: float = Field(1e-7, gt=0, description="mean |gradient| below this")


def vanishing_gradient(p: VanishingGradientParams, o: Observed) -> Finding | None:
    if not o.history or not _num(o.history[-1].get("grad_abs_mean")):
        return None
    value = o.history[-1]["grad_abs_mean"]
    if value >= p.threshold:
        return None
    return _found(
        "vanishing_gradient",
        o.history[-1],
        value,
        f"mean |gradient| {value:.3g} < {p.threshold:g} at {_at(o.history[-1])}",
    )


class ExplodingGradientParams(_Params):
    factor: float = Field(10.0, gt=1, description="gradient norm above this × its early median")
    warmup: int = Field(3, ge=1, description="evaluations whose median is the reference")


def exploding_gradient(p: ExplodingGradientParams, o: Observed) -> Finding | None:
    """The gradient norm grew past ``factor`` × its median over the first ``warmup``."""
    values = _series(o.history, "grad_norm")
    if len(values) <= p.warmup:
        return None
    reference = statistics.median(values[: p.warmup])
    if reference <= 0 or values[-1] <= p.factor * reference:
        return None
    return _found(
        "exploding_gradient",
        o.history[-1],
        values[-1],
        f"gradient norm {values[-1]:.4g} at {_at(o.history[-1])} is "
        f"{values[-1] / reference:.0f}× its early median {reference:.4g} (limit {p.factor:g}×)",
    )


class WeightUpdateRatioParams(_Params):
    large_threshold: float = Field(10.0, gt=0)
    small_epsilon: float = Field(1e-8, gt=0)


def weight_update_ratio(p: WeightUpdateRatioParams, o: Observed) -> Finding | None:
    """|update| / |weights| of a step above ``large_threshold`` or below ``small_epsilon``."""
    if not o.history or not _num(o.history[-1].get("update_ratio")):
        return None
    value = o.history[-1]["update_ratio"]
    if p.small_epsilon <= value <= p.large_threshold:
        return None
    side = "above" if value > p.large_threshold else "below"
    limit = p.large_threshold if value > p.large_threshold else p.small_epsilon
    return _found(
        "weight_update_ratio",
        o.history[-1],
        value,
        f"update/weight ratio {value:.3g} is {side} {limit:g} at {_at(o.history[-1])}",
    )


class StepOutlierParams(_Params):
    stddev: float = Field(3.0, gt=0)
    n_outliers: int = Field(10, ge=1)
    min_steps: int = Field(5, ge=2, description="evaluations before any is judged")
    signal: str = "epoch_time_s"


def step_outlier(p: StepOutlierParams, o: Observed) -> Finding | None:
    """``n_outliers`` step times above the mean + ``stddev`` σ of the normal steps before each
    (an outlier does not join the reference, or ten slow steps would hide each other)."""
    values = _series(o.history, p.signal)
    normal, outliers = values[: p.min_steps], 0
    for value in values[p.min_steps :]:
        mean, sigma = statistics.fmean(normal), statistics.pstdev(normal)
        if sigma > 0 and value > mean + p.stddev * sigma:
            outliers += 1
        else:
            normal.append(value)
    if outliers < p.n_outliers:
        return None
    return _found(
        "step_outlier",
        o.history[-1],
        float(outliers),
        f"{outliers} {p.signal} values above mean + {p.stddev:g} σ (limit {p.n_outliers})",
    )


class StalledParams(_Params):
    threshold_s: float = Field(1800.0, gt=0, description="no new evaluation for this long")


def stalled(p: StalledParams, o: Observed) -> Finding | None:
    if not o.history:
        return None  # max_initialization_time covers a run that never reported
    last = o.history[-1].get("t")
    if not _num(last) or o.now - last <= p.threshold_s:
        return None
    return _found(
        "stalled",
        o.history[-1],
        o.now - last,
        f"no new evaluation for {o.now - last:.0f} s since {_at(o.history[-1])} "
        f"(limit {p.threshold_s:g} s)",
    )


class MaxInitializationTimeParams(_Params):
    threshold_s: float = Field(1200.0, gt=0, description="no first evaluation within this")


def max_initialization_time(p: MaxInitializationTimeParams, o: Observed) -> Finding | None:
    if o.history or o.now - o.started_at <= p.threshold_s:
        return None
    waited = o.now - o.started_at
    return Finding(
        "max_initialization_time",
        None,
        waited,
        f"no first step {waited:.0f} s after the start (limit {p.threshold_s:g} s)",
    )


class StragglerParams(_Params):
    factor: float = Field(2.0, gt=1, description="a rank's step time above this × the median")
    patience: int = Field(3, ge=1, description="evaluations in a row")


def straggler(p: StragglerParams, o: Observed) -> Finding | None:
    """One rank slower than ``factor`` × the median of the other ranks for ``patience``
    evaluations."""
    rows = [r for r in o.history if len(r.get("rank_step_time_s") or ()) > 1]
    if len(rows) < p.patience:
        return None
    worst = []
    for row in rows[-p.patience :]:
        times = list(row["rank_step_time_s"])
        slowest = max(range(len(times)), key=times.__getitem__)
        # The median of the *other* ranks: with two ranks the median of all is their mean,
        # which the slower one can never exceed twice over (the default factor).
        median = statistics.median(times[:slowest] + times[slowest + 1 :])
        if median <= 0 or times[slowest] <= p.factor * median:
            return None
        worst.append((slowest, times[slowest] / median))
    ranks = {rank for rank, _ in worst}
    if len(ranks) != 1:
        return None  # a different rank each time is noise, not a straggler
    rank, ratio = worst[-1]
    return _found(
        "straggler",
        rows[-1],
        ratio,
        f"rank {rank} took {ratio:.1f}× the other ranks' median step time for {p.patience} "
        f"evaluations (limit {p.factor:g}×)",
    )


class LowGpuUtilizationParams(_Params):
    threshold_percent: float = Field(70.0, gt=0, le=100)
    window: int = Field(10, ge=1, description="evaluations the p95 is taken over")


def low_gpu_utilization(p: LowGpuUtilizationParams, o: Observed) -> Finding | None:
    values = _series(o.history, "gpu_utilization")[-p.window :]
    if len(values) < p.window:
        return None  # CPU runs report none: the rule never fires there
    p95 = sorted(values)[max(math.ceil(0.95 * len(values)) - 1, 0)]
    if p95 >= p.threshold_percent:
        return None
    return _found(
        "low_gpu_utilization",
        o.history[-1],
        p95,
        f"GPU utilisation p95 {p95:.0f} % over {p.window} evaluations < {p.threshold_percent:g} %",
    )


# -- the table ----------------------------------------------------------------------------------

Rule = Callable[[Any, Observed], Finding | None]

RULES: dict[str, tuple[type[_Params], Rule]] = {
    "nonfinite": (NonfiniteParams, nonfinite),
    "loss_not_decreasing": (LossNotDecreasingParams, loss_not_decreasing),
    "overfit": (OverfitParams, overfit),
    "overtraining": (OvertrainingParams, overtraining),
    "vanishing_gradient": (VanishingGradientParams, vanishing_gradient),
    "exploding_gradient": (ExplodingGradientParams, exploding_gradient),
    "weight_update_ratio": (WeightUpdateRatioParams, weight_update_ratio),
    "step_outlier": (StepOutlierParams, step_outlier),
    "stalled": (StalledParams, stalled),
    "max_initialization_time": (MaxInitializationTimeParams, max_initialization_time),
    "straggler": (StragglerParams, straggler),
    "low_gpu_utilization": (LowGpuUtilizationParams, low_gpu_utilization),
}


def _found(rule: str, row: Evaluation, value: Any, message: str) -> Finding:
    return Finding(rule, _epoch(row) or None, float(value), message)


def _series(history: Sequence[Evaluation], name: str) -> list[float]:
    return [float(r[name]) for r in history if _num(r.get(name)) and math.isfinite(r[name])]


def _num(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _epoch(row: Evaluation) -> int:
    return int(row.get("epoch") or 0)


def _at(row: Evaluation) -> str:
    return f"epoch {_epoch(row)}"
