"""Which variant answers and which shadows: the pure choice, driven with chosen draws."""

import json
from collections import Counter

import pytest

from ray_apps.errors import SpecError
from serve.traffic.choice import (
    ROUTING_KEY_HEADER,
    TARGET_HEADER,
    Choice,
    choose,
    key_draw,
)
from serve.traffic.table import TrafficTable, VariantTarget

GRID = 1000  # draws i / GRID: an exact share for weights in tenths of a percent


def table(weights, shadow=None, shadow_percent=0.0) -> TrafficTable:
    return TrafficTable(
        endpoint="ep",
        deploy_id="d1",
        variants=(
            VariantTarget("prod", "fair", 4, "ep"),
            VariantTarget("cand", "fair", 5, "ep--cand"),
            VariantTarget("dark", "fair", 6, "ep--dark"),
        ),
        weights=weights,
        shadow=shadow,
        shadow_percent=shadow_percent,
    )


def answers(t, n=GRID, headers=None, **kw) -> Counter:
    return Counter(
        choose(t, headers or {}, draw=i / n, shadow_draw=0.5, **kw).answer for i in range(n)
    )


@pytest.mark.parametrize(
    ("weights", "expected"),
    [
        ({"prod": 90, "cand": 10, "dark": 0}, {"prod": 900, "cand": 100}),
        ({"prod": 1, "cand": 1, "dark": 2}, {"prod": 250, "cand": 250, "dark": 500}),
        ({"prod": 0, "cand": 3, "dark": 0}, {"cand": 1000}),
        ({"prod": 50, "cand": 0, "dark": 50}, {"prod": 500, "dark": 500}),
    ],
)
def test_draws_on_a_grid_split_exactly_by_weight(weights, expected):
    assert answers(table(weights)) == expected


def test_a_draw_just_below_one_lands_on_the_last_weighted_variant():
    t = table({"prod": 90, "cand": 10, "dark": 0})
    assert choose(t, {}, draw=0.9999999999999999, shadow_draw=0.9).answer == "cand"
    assert choose(t, {}, draw=0.0, shadow_draw=0.9) == Choice("prod", None, False)


def test_the_target_header_pins_any_variant_even_at_weight_zero():
    t = table({"prod": 100, "cand": 0, "dark": 0})
    for name in t.names:
        for draw in (0.0, 0.5, 0.999):
            got = choose(t, {TARGET_HEADER: name}, draw=draw, shadow_draw=0.9)
            assert got == Choice(name, None, True)


def test_an_unknown_target_is_refused_naming_the_variants():
    t = table({"prod": 1, "cand": 1, "dark": 0})
    with pytest.raises(SpecError) as err:
        choose(t, {TARGET_HEADER: "beta"}, draw=0.1, shadow_draw=0.1)
    message = str(err.value)
    assert TARGET_HEADER in message and "'beta'" in message
    assert "['prod', 'cand', 'dark']" in message


def test_the_target_header_wins_over_the_path_version_and_the_routing_key():
    t = table({"prod": 1, "cand": 1, "dark": 0})
    headers = {TARGET_HEADER: "dark", ROUTING_KEY_HEADER: "user-1"}
    assert choose(t, headers, draw=0.1, shadow_draw=0.1, version="4").answer == "dark"


def test_a_version_in_the_path_pins_the_variant_serving_it():
    t = table({"prod": 100, "cand": 0, "dark": 0})
    assert answers(t, version="5") == {"cand": GRID}
    assert answers(t, version="6") == {"dark": GRID}
    assert choose(t, {}, draw=0.99, shadow_draw=0.5, version="5").pinned
    # No variant serves version 9: the first variant answers (and refuses it with the reason).
    assert answers(table({"prod": 0, "cand": 1, "dark": 0}), version="9") == {"prod": GRID}


def test_a_routing_key_is_sticky_for_fixed_weights_and_ignores_the_draw():
    t = table({"prod": 50, "cand": 50, "dark": 0})
    copy = TrafficTable.from_json(json.loads(json.dumps(t.to_json())))
    seen = set()
    for i in range(200):
        key = f"user-{i}"
        first = choose(t, {ROUTING_KEY_HEADER: key}, draw=0.0, shadow_draw=0.5)
        again = choose(copy, {ROUTING_KEY_HEADER: key}, draw=0.999, shadow_draw=0.5)
        assert first.answer == again.answer and not first.pinned
        expected = "prod" if key_draw(key) < 0.5 else "cand"
        assert first.answer == expected
        seen.add(first.answer)
    assert seen == {"prod", "cand"}  # keys spread over both variants


def test_key_draw_is_a_fixed_point_in_the_unit_interval():
    assert key_draw("user-1") == key_draw("user-1") != key_draw("user-2")
    draws = [key_draw(f"k{i}") for i in range(2000)]
    assert all(0.0 <= d < 1.0 for d in draws)
    assert 0.45 < sum(d < 0.5 for d in draws) / len(draws) < 0.55


def test_weight_zero_variants_are_never_chosen_by_weight_or_key():
    t = table({"prod": 1, "cand": 0, "dark": 1})
    assert "cand" not in answers(t, n=5000)
    keys = {
        choose(t, {ROUTING_KEY_HEADER: f"u{i}"}, draw=0, shadow_draw=0).answer for i in range(500)
    }
    assert keys == {"prod", "dark"}


def test_the_shadow_is_mirrored_for_its_share_of_requests():
    t = table({"prod": 90, "cand": 10, "dark": 0}, shadow="dark", shadow_percent=25)
    shadows = Counter(choose(t, {}, draw=0.3, shadow_draw=i / GRID).shadow for i in range(GRID))
    assert shadows == {"dark": 250, None: 750}
    # Independent of the answer: the candidate's requests are mirrored at the same share.
    cand = Counter(choose(t, {}, draw=0.95, shadow_draw=i / GRID).shadow for i in range(GRID))
    assert cand == shadows
    full = table({"prod": 1, "cand": 0, "dark": 0}, shadow="dark", shadow_percent=100)
    assert all(choose(full, {}, draw=0.5, shadow_draw=i / GRID).shadow for i in range(GRID))


def test_no_shadow_without_one_and_never_to_the_variant_that_answers():
    plain = table({"prod": 1, "cand": 1, "dark": 0})
    assert {choose(plain, {}, draw=i / 100, shadow_draw=0.0).shadow for i in range(100)} == {None}
    t = table({"prod": 1, "cand": 0, "dark": 0}, shadow="dark", shadow_percent=100)
    pinned = choose(t, {TARGET_HEADER: "dark"}, draw=0.5, shadow_draw=0.0)
    assert pinned == Choice("dark", None, True)
    by_version = choose(t, {}, draw=0.5, shadow_draw=0.0, version="6")
    assert by_version == Choice("dark", None, True)
    assert choose(t, {TARGET_HEADER: "cand"}, draw=0.5, shadow_draw=0.0).shadow == "dark"
