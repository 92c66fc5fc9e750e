import math
import random

import pytest

from ray_apps.errors import SpecError
from serve.traffic.stats import (
    LATENCY_BOUNDS_MS,
    StatsAccumulator,
    VariantStats,
    latency_bucket,
    merge_all,
)


def test_the_bounds_are_log_spaced_from_a_quarter_ms_past_a_minute():
    bounds = LATENCY_BOUNDS_MS
    assert bounds[0] == 0.25 and bounds[-1] == 65536.0 and len(bounds) + 1 <= 60
    ratios = {round(b / a, 9) for a, b in zip(bounds, bounds[1:], strict=False)}
    assert ratios == {round(2 ** (1 / 3), 9)}


@pytest.mark.parametrize(
    ("latency_ms", "bucket"),
    [
        (0.1, 0),
        (0.25, 0),  # upper bounds are inclusive, as Prometheus' le
        (0.2501, 1),
        (1.0, 6),
        (65536.0, 54),
        (65536.1, 55),  # overflow
        (1e9, 55),
        (-3.0, 0),  # a clock step must not fail the request
        (math.nan, 0),
    ],
)
def test_latency_bucket(latency_ms, bucket):
    assert latency_bucket(latency_ms) == bucket


def test_accumulator_counts_per_variant_and_take_resets():
    acc = StatsAccumulator()
    for status in (200, 200, 404, 422, 500, 503):
        acc.observe("stable", status, 12.0)
    acc.observe("candidate", 201, 0.3)
    taken = acc.take()
    assert taken["stable"].requests == 6
    assert (taken["stable"].errors_4xx, taken["stable"].errors_5xx) == (2, 2)
    assert taken["candidate"] == VariantStats(1, 0, 0, taken["candidate"].latency_counts)
    assert sum(taken["candidate"].latency_counts) == 1
    assert acc.take() == {}


def test_rates_are_none_without_requests():
    empty = VariantStats()
    assert (empty.error_rate, empty.client_error_rate, empty.quantile_ms(0.99)) == (None,) * 3
    acc = StatsAccumulator()
    for status in [500] * 3 + [400] + [200] * 16:
        acc.observe("v", status, 5.0)
    stats = acc.take()["v"]
    assert (stats.error_rate, stats.client_error_rate) == (0.15, 0.05)


def test_quantile_interpolates_inside_the_bucket():
    acc = StatsAccumulator()
    for _ in range(100):
        acc.observe("v", 200, 1.0)  # bucket 6: (0.794, 1.0]
    stats = acc.take()["v"]
    lower, upper = LATENCY_BOUNDS_MS[5], LATENCY_BOUNDS_MS[6]
    assert stats.quantile_ms(0.5) == pytest.approx(lower + (upper - lower) * 0.5)
    assert stats.quantile_ms(1.0) == pytest.approx(upper)
    assert stats.quantile_ms(0.0) == pytest.approx(lower)  # the first non-empty bucket


def test_quantile_is_within_a_bucket_of_the_exact_one():
    rng = random.Random(7)
    latencies = [rng.lognormvariate(math.log(20), 0.6) for _ in range(20_000)]
    acc = StatsAccumulator()
    for ms in latencies:
        acc.observe("v", 200, ms)
    stats = acc.take()["v"]
    exact = sorted(latencies)
    for q in (0.5, 0.9, 0.99):
        true = exact[int(q * len(exact)) - 1]
        assert stats.quantile_ms(q) == pytest.approx(true, rel=0.05), q


def test_quantile_in_the_overflow_bucket_is_the_last_bound():
    acc = StatsAccumulator()
    acc.observe("v", 200, 90_000.0)
    assert acc.take()["v"].quantile_ms(0.99) == LATENCY_BOUNDS_MS[-1]


def test_quantile_outside_0_1_is_refused():
    with pytest.raises(ValueError, match=r"must lie in \[0, 1\], e.g. 0.99"):
        VariantStats().quantile_ms(99)


def test_merging_replicas_and_intervals_equals_one_accumulator():
    rng = random.Random(3)
    events = [
        (rng.choice(["a", "b"]), rng.choice([200, 200, 400, 500]), rng.expovariate(0.1))
        for _ in range(3000)
    ]
    whole, parts = StatsAccumulator(), [StatsAccumulator() for _ in range(3)]
    rows = []
    for i, (variant, status, ms) in enumerate(events):
        whole.observe(variant, status, ms)
        parts[i % 3].observe(variant, status, ms)
        if i % 700 == 0:  # takes at different times: intervals add up too
            rows.append(parts[i % 3].take())
    rows += [p.take() for p in parts]
    assert merge_all(rows) == whole.take()


def test_merged_with_an_empty_row_keeps_the_counts():
    acc = StatsAccumulator()
    acc.observe("v", 200, 3.0)
    stats = acc.take()["v"]
    assert stats.merged(VariantStats()) == stats == VariantStats().merged(stats)
    assert merge_all([]) == {}


def test_json_round_trip():
    acc = StatsAccumulator()
    acc.observe("v", 503, 30.0)
    acc.observe("v", 200, 3.0)
    stats = acc.take()["v"]
    assert VariantStats.from_json(stats.to_json()) == stats
    assert VariantStats.from_json(VariantStats().to_json()) == VariantStats()


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"requests": 1, "latency_counts": [1, 0]}, "2 latency buckets, the layout has 56"),
        ({"requests": 2, "errors_5xx": 2, "errors_4xx": 1}, "errors are a subset of requests"),
        ({"requests": 2, "latency_counts": [1] + [0] * 55}, "1 latencies for 2 requests"),
        ({"requests": -1}, "negative count"),
        ({"requests": "many"}, "are not counts"),
        ({"requests": 1, "p99": 3}, r"unknown keys \['p99'\]"),
    ],
)
def test_from_json_refuses_rows_that_do_not_add_up(row, message):
    with pytest.raises(SpecError, match=message):
        VariantStats.from_json(row)
