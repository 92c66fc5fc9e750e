from collections import Counter

import pytest

from ray_apps.errors import SpecError
from serve.multi_model import LruResult, simulate_lru, zipf_trace


def test_lru_by_hand():
    # capacity 2: a b a c b a → miss miss hit miss(evicts b) miss(evicts a) miss(evicts c)
    result = simulate_lru(list("abacba"), 2)
    assert result == LruResult(capacity=2, hits=1, misses=5, evictions=3)
    assert result.requests == 6 and result.hit_rate == pytest.approx(1 / 6)


def test_a_capacity_that_holds_everything_misses_once_per_model():
    result = simulate_lru(list("abcabcabc"), 3)
    assert (result.hits, result.misses, result.evictions) == (6, 3, 0)
    assert simulate_lru([], 3).hit_rate == 0.0


def test_a_cyclic_trace_one_larger_than_the_cache_never_hits():
    assert simulate_lru(list("abcd") * 10, 3).hits == 0  # LRU's worst case


def test_zipf_trace_is_seeded_and_skewed():
    trace = zipf_trace(200, 20_000, s=1.1, seed=7, prefix="store-")
    assert trace == zipf_trace(200, 20_000, s=1.1, seed=7, prefix="store-")
    assert trace != zipf_trace(200, 20_000, s=1.1, seed=8, prefix="store-")
    counts = Counter(trace)
    assert set(counts) <= {f"store-{k}" for k in range(1, 201)}
    # P(rank 1) / P(rank 2) = 2**1.1 ≈ 2.14
    assert counts["store-1"] / counts["store-2"] == pytest.approx(2**1.1, rel=0.1)
    assert counts.most_common(1)[0][0] == "store-1"


def test_a_bigger_cache_hits_more_on_a_zipf_trace():
    trace = zipf_trace(200, 20_000, s=1.1, seed=0)
    rates = [simulate_lru(trace, c).hit_rate for c in (5, 20, 80, 200)]
    assert rates == sorted(rates) and 0.3 < rates[1] < 0.8 and rates[3] > 0.98


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: simulate_lru(["a"], 0), "holds at least 1"),
        (lambda: zipf_trace(0, 10), "at least 1 model"),
        (lambda: zipf_trace(10, 10, s=0), "exponent is positive"),
    ],
)
def test_bad_arguments(call, message):
    with pytest.raises(SpecError, match=message):
        call()
