"""An ideal least-recently-used cache simulated over a trace, and a seeded Zipf trace.

    trace = zipf_trace(200, 20_000, s=1.1, seed=0)     # model names, rank 1 the most asked
    ideal = simulate_lru(trace, capacity=20)           # LruResult(hits, misses, evictions)
    ideal.hit_rate                                     # what a perfect 20-model LRU would hit

``bench/multi_model.py`` sends the same trace to a real endpoint and compares its measured hit
rate with this one (goal: within 5 points): a single LRU with no load time, no concurrency and
no replicas, the best the real cache can do with that count budget.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass

from ray_apps.errors import SpecError


@dataclass(frozen=True)
class LruResult:
    """What an LRU cache of ``capacity`` models did over a trace."""

    capacity: int
    hits: int
    misses: int  # each miss is a load
    evictions: int

    @property
    def requests(self) -> int:
        return self.hits + self.misses

    @property
    def hit_rate(self) -> float:
        return self.hits / self.requests if self.requests else 0.0


def simulate_lru(trace: Iterable[str], capacity: int) -> LruResult:
    """Play ``trace`` (model names, in request order) through an LRU of ``capacity`` models."""
    if capacity < 1:
        raise SpecError(f"capacity is {capacity}; an LRU holds at least 1 model")
    held: OrderedDict[str, None] = OrderedDict()
    hits = misses = evictions = 0
    for name in trace:
        if name in held:
            held.move_to_end(name)
            hits += 1
            continue
        misses += 1
        held[name] = None
        if len(held) > capacity:
            held.popitem(last=False)
            evictions += 1
    return LruResult(capacity, hits, misses, evictions)


def zipf_trace(
    n_models: int, length: int, *, s: float = 1.1, seed: int = 0, prefix: str = "model-"
) -> list[str]:
    """``length`` requests over ``n_models`` names ``{prefix}1`` … ``{prefix}{n_models}``; the
    k-th is asked with probability proportional to 1 / k**s (a finite Zipf law), seeded."""
    import numpy as np

    if n_models < 1 or length < 0:
        raise SpecError(
            f"n_models {n_models} and length {length}: need at least 1 model and a length >= 0"
        )
    if s <= 0:
        raise SpecError(f"s is {s}; a Zipf exponent is positive (1.1 is a typical skew)")
    weights = 1.0 / np.arange(1, n_models + 1, dtype=np.float64) ** s
    ranks = np.random.default_rng(seed).choice(n_models, size=length, p=weights / weights.sum())
    return [f"{prefix}{k + 1}" for k in ranks]
