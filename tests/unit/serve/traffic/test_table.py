"""The traffic table: shares, checked weight and shadow changes, JSON both ways."""

import json
import math

import pytest

from ray_apps.errors import SpecError
from serve.traffic.table import TrafficTable, VariantTarget, parse_weights


def table(weights=None, shadow=None, shadow_percent=0.0) -> TrafficTable:
    return TrafficTable(
        endpoint="ep",
        deploy_id="d1",
        variants=(
            VariantTarget("prod", "fair", 4, "ep"),
            VariantTarget("cand", "fair", 5, "ep--cand"),
            VariantTarget("dark", "fair", 6, "ep--dark"),
        ),
        weights={"prod": 90.0, "cand": 10.0, "dark": 0.0} if weights is None else weights,
        shadow=shadow,
        shadow_percent=shadow_percent,
    )


def test_names_local_and_target():
    t = table()
    assert t.names == ["prod", "cand", "dark"] and t.local == "prod"
    assert t.target("cand") == VariantTarget("cand", "fair", 5, "ep--cand")
    with pytest.raises(SpecError, match=r"no variant 'nope' on endpoint ep.*\['prod', 'cand'"):
        t.target("nope")


def test_shares_are_weight_over_sum_in_percent():
    assert table().shares() == {"prod": 90.0, "cand": 10.0, "dark": 0.0}
    assert table({"prod": 1, "cand": 3}).shares() == {"prod": 25.0, "cand": 75.0, "dark": 0.0}


def test_with_weights_changes_some_keeps_the_rest_and_bumps_the_generation():
    t = table()
    new = t.with_weights({"cand": 30})
    assert dict(new.weights) == {"prod": 90.0, "cand": 30.0, "dark": 0.0}
    assert new.shares()["cand"] == 25.0
    assert (t.generation, new.generation, new.with_weights({}).generation) == (0, 1, 2)
    assert dict(t.weights)["cand"] == 10.0  # frozen: the old table is untouched
    assert all(isinstance(w, float) for w in new.weights.values())


def test_unknown_variants_are_named_with_the_valid_ones():
    with pytest.raises(SpecError) as err:
        table().with_weights({"zeta": 1, "alpha": 2, "prod": 5})
    message = str(err.value)
    assert "['alpha', 'zeta']" in message and "endpoint ep" in message
    assert "['prod', 'cand', 'dark']" in message


@pytest.mark.parametrize("bad", ["10", None, True, math.nan, math.inf, -math.inf, [1]])
def test_weights_that_are_not_finite_numbers_are_refused(bad):
    with pytest.raises(SpecError, match=r"weight of 'cand' is .*; give a finite number ≥ 0"):
        table().with_weights({"cand": bad})


def test_negative_weights_and_all_zero_are_refused():
    with pytest.raises(SpecError, match=r"weight of 'cand' is -1; weights are ≥ 0"):
        table().with_weights({"cand": -1})
    with pytest.raises(SpecError, match="all 0; give at least one variant a positive weight"):
        table().with_weights({"prod": 0, "cand": 0.0})


def test_the_shadow_keeps_weight_zero():
    t = table(shadow="dark", shadow_percent=50)
    with pytest.raises(SpecError, match="'dark' is the shadow; .* keep its weight 0"):
        t.with_weights({"dark": 1})
    assert t.with_weights({"dark": 0, "prod": 1}).shadow == "dark"


def test_with_shadow_rules():
    t = table()
    mirrored = t.with_shadow("dark", 25)
    assert (mirrored.shadow, mirrored.shadow_percent, mirrored.generation) == ("dark", 25.0, 1)
    assert t.with_shadow("dark").shadow_percent == 100.0
    stopped = mirrored.with_shadow(None)
    assert (stopped.shadow, stopped.shadow_percent, stopped.generation) == (None, 0.0, 2)
    with pytest.raises(SpecError, match="'prod' answers callers; shadow a variant listed after"):
        t.with_shadow("prod")
    with pytest.raises(SpecError, match="'cand' has weight 10; set it to 0 first"):
        t.with_shadow("cand")
    with pytest.raises(SpecError, match="no variant 'nope'"):
        t.with_shadow("nope")
    for percent in (0, -5, 100.5, math.nan):
        with pytest.raises(SpecError, match=r"shadow percent .* must be in \(0, 100\]"):
            t.with_shadow("dark", percent)


def test_json_round_trip_through_text():
    t = table(shadow="dark", shadow_percent=12.5).with_weights({"cand": 20})
    back = TrafficTable.from_json(json.loads(json.dumps(t.to_json())))
    assert back == t
    assert back.to_json()["variants"][1] == {
        "name": "cand",
        "model": "fair",
        "version": 5,
        "app": "ep--cand",
    }
    assert back.generation == 1 and back.shadow == "dark" and back.shadow_percent == 12.5


def test_from_json_defaults_the_optional_fields():
    data = table().to_json()
    for key in ("shadow", "shadow_percent", "generation"):
        del data[key]
    back = TrafficTable.from_json(data)
    assert (back.shadow, back.shadow_percent, back.generation) == (None, 0.0, 0)


def test_parse_weights():
    assert parse_weights(["prod=90", " cand = 10.5"]) == {"prod": 90.0, "cand": 10.5}
    assert parse_weights([]) == {}


@pytest.mark.parametrize("item", ["prod=abc", "prod", "=5", " =5", "prod=", "prod:90"])
def test_parse_weights_refuses_what_is_not_variant_equals_weight(item):
    with pytest.raises(SpecError) as err:
        parse_weights(["cand=1", item])
    assert str(err.value) == f"{item!r} is not VARIANT=WEIGHT; write e.g. prod=90 cand=10"
