"""How long a trial runs before ASHA or the median rule may stop it: ``grace_period: auto``.

A grace of 1 round (the old default) judged every XGBoost trial on its first tree: a trial with
a small learning rate has barely moved by then and was stopped before it had a chance, so ASHA
kept the fast starters rather than the best finishers (bench/tune_efficiency.py: grace 2 of 60
rounds stopped the eventual best, eta 0.13, on one seed in three; grace 10 kept it on all).

The rule, with ``max_t`` the job's epochs/rounds and ``rf`` the reduction factor:

    grace = ceil(max_t / rf² × min(√spread, rf)), within 1..max_t

``max_t / rf²`` leaves ASHA three rungs (grace, grace·rf, max_t), enough to halve twice without
judging anyone on a handful of rounds. ``spread`` is high/low of the widest learning-rate-like
dimension (``eta``, ``learning_rate``, ``lr``; 1 without one). Early in training, progress goes
roughly as rounds × learning rate, so the slowest trial at a rung has done 1/spread of the
fastest one's work; √spread meets it halfway on a log scale without spending spread× the
compute. Capped at ×rf: ASHA keeps at least two rungs (grace ≈ max_t/rf, then max_t).

Examples: 60 rounds, rf 4, eta 0.05-0.5 → 12 (the bench's case); 40 rounds, rf 3, eta
0.02-0.5 → 14; 100 rounds, rf 3, no learning rate searched → 12. An explicit
``grace_period`` is kept as given. HyperBand takes none: its brackets start at max_t / rf^s.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from tuning.spec import ParamSpec, StrategySpec

LEARNING_RATE_KEYS = frozenset({"eta", "learning_rate", "lr"})


@dataclass(frozen=True)
class Grace:
    rounds: int  # epochs/rounds before a trial may be stopped
    rule: str  # how it was chosen, for the console and the run log


def resolve_grace(strategy: StrategySpec, max_t: int, space: dict[str, ParamSpec]) -> Grace:
    """The grace period a scheduler gets: the user's, or the rule above."""
    if strategy.grace_period is not None:
        return Grace(strategy.grace_period, "set in strategy.grace_period")
    rf = strategy.reduction_factor
    spread = learning_rate_spread(space)
    factor = min(math.sqrt(spread), rf)
    # round() first: 9 / 3² must give 1, not ceil(1.0000000000000002) = 2.
    rounds = math.ceil(round(max_t * factor / rf**2, 9))
    rounds = min(max(rounds, 1), max_t)
    rule = f"auto: ceil({max_t} / {rf}²"
    rule += f" × min(√{spread:g}, {rf}))" if spread > 1 else ")"
    return Grace(rounds, rule)


def learning_rate_spread(space: dict[str, ParamSpec]) -> float:
    """high / low of the widest learning-rate-like dimension; 1 when none is searched."""
    spreads = [
        _spread(dim) for path, dim in space.items() if path.rsplit(".", 1)[-1] in LEARNING_RATE_KEYS
    ]
    return max([1.0, *spreads])


def _spread(dim: ParamSpec) -> float:
    bounds: list[Any] = dim.values if dim.categorical else [dim.low, dim.high]
    numbers = [float(v) for v in bounds if _number(v) and v > 0]
    return max(numbers) / min(numbers) if numbers else 1.0


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)
