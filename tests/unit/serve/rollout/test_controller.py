"""The rollout controller's pure helpers, its splits on a real store, and the refusals of
``start_rollout`` that come before anything is deployed."""

import pytest
from _factories import xgboost_artifact

from ray_apps import registry
from ray_apps.errors import NotFoundError, SpecError
from serve.config import endpoint_spec
from serve.rollout.controller import (
    _promoted,
    _set_split,
    _variants,
    _with_candidate,
    start_rollout,
)
from serve.rollout.spec import parse_rollout_spec
from serve.traffic.store import TrafficStore
from serve.traffic.table import TrafficTable, VariantTarget

MODELS_SPEC = {"name": "ep", "models": [{"name": "fair", "version": 4}], "num_cpus": 1.0}
VARIANTS_SPEC = {
    "name": "ep",
    "variants": [
        {"name": "prod", "model": "fair:4", "weight": 90.0, "force": True},
        {"name": "blue", "model": "fair:3", "weight": 10.0},
    ],
}


def rollout(**fields):
    return parse_rollout_spec({"endpoint": "ep", "candidate": "fair:5", **fields})


def test_variants_of_an_endpoint_with_one_model():
    assert _variants(MODELS_SPEC) == [
        {"name": "stable", "model": "fair:4", "weight": 1.0, "force": False}
    ]
    newest = {"name": "ep", "models": [{"name": "fair", "version": None, "force": True}]}
    assert _variants(newest) == [{"name": "stable", "model": "fair", "weight": 1.0, "force": True}]


def test_variants_of_an_endpoint_with_variants_are_copies():
    got = _variants(VARIANTS_SPEC)
    assert got == VARIANTS_SPEC["variants"]
    got[0]["weight"] = 0
    assert VARIANTS_SPEC["variants"][0]["weight"] == 90.0


def test_with_candidate_adds_it_at_weight_zero_as_a_valid_endpoint_spec():
    spec = rollout(num_cpus=0.25, autoscaling={"max_replicas": 1}, fault={"abort_percent": 20})
    out = _with_candidate(MODELS_SPEC, spec)
    assert "models" not in out and out["num_cpus"] == 1.0
    stable, cand = out["variants"]
    assert stable == {"name": "stable", "model": "fair:4", "weight": 1.0, "force": False}
    assert (cand["name"], cand["model"], cand["weight"], cand["num_cpus"]) == (
        "candidate",
        "fair:5",
        0.0,
        0.25,
    )
    assert cand["autoscaling"]["max_replicas"] == 1 and cand["fault"]["abort_percent"] == 20
    parsed = endpoint_spec(out)  # what _deploy would deploy
    assert [v.name for v in parsed.variants] == ["stable", "candidate"]
    assert parsed.models[0].version == 4 and parsed.variants[1].fault.abort_percent == 20


def test_with_candidate_beside_existing_variants_keeps_them():
    out = _with_candidate(VARIANTS_SPEC, rollout(variant="green"))
    assert [v["name"] for v in out["variants"]] == ["prod", "blue", "green"]
    # A canary runs in replicas of its own unless the rollout says otherwise.
    assert out["variants"][2] == {
        "name": "green",
        "model": "fair:5",
        "weight": 0.0,
        "replicas": "own",
    }
    assert endpoint_spec(out).variants[2].shares_replicas is False
    assert endpoint_spec(out).variants[2].weight == 0.0
    assert MODELS_SPEC["models"] == [{"name": "fair", "version": 4}]  # inputs untouched


def test_promoted_endpoint_with_one_model_serves_the_candidate_version():
    out = _promoted(
        {**MODELS_SPEC, "models": [{"name": "fair", "version": 4, "force": True}]}, rollout()
    )
    assert out["models"] == [{"name": "fair", "version": 5, "force": False}]
    assert "variants" not in out and out["num_cpus"] == 1.0
    assert endpoint_spec(out).models[0].version == 5


def test_promoted_endpoint_with_variants_moves_its_first_variant():
    out = _promoted(VARIANTS_SPEC, rollout())
    assert out["variants"][0] == {"name": "prod", "model": "fair:5", "weight": 90.0, "force": False}
    assert out["variants"][1] == VARIANTS_SPEC["variants"][1]
    parsed = endpoint_spec(out)
    assert parsed.models[0].version == 5 and [v.name for v in parsed.variants] == ["prod", "blue"]


# -- splits on a real store ---------------------------------------------------------------------
def table(*names, shadow=None) -> TrafficTable:
    variants = tuple(
        VariantTarget(n, "fair", 4 + i, "ep" if i == 0 else f"ep--{n}") for i, n in enumerate(names)
    )
    weights = {n: (1.0 if i == 0 else 0.0) for i, n in enumerate(names)}
    return TrafficTable(
        "ep", "d1", variants, weights, shadow=shadow, shadow_percent=100.0 if shadow else 0.0
    )


@pytest.fixture()
def store(tmp_path):
    return TrafficStore(f"sqlite:///{tmp_path / 'traffic.db'}")


@pytest.mark.parametrize(
    ("percent", "stable", "candidate"),
    [(0.0, 100.0, 0.0), (10.0, 90.0, 10.0), (50.0, 50.0, 50.0), (100.0, 0.0, 100.0)],
)
def test_set_split(store, percent, stable, candidate):
    store.put("ep", table("stable", "other", "candidate", shadow="other"), by="deploy")
    _set_split(store, rollout(), {"stable": "stable"}, percent)
    got = store.get("ep")
    assert dict(got.table.weights) == {"stable": stable, "other": 0.0, "candidate": candidate}
    assert got.table.shares()["candidate"] == candidate
    assert got.table.shadow == "other" and got.updated_by == "rollout fair:5"


def test_set_split_is_idempotent_and_a_no_op_once_the_candidate_is_gone(store):
    store.put("ep", table("stable", "candidate"), by="deploy")
    _set_split(store, rollout(), {"stable": "stable"}, 10.0)
    once = store.get("ep").table
    _set_split(store, rollout(), {"stable": "stable"}, 10.0)
    assert dict(store.get("ep").table.weights) == dict(once.weights)
    store.put("ep", table("stable"), by="deploy")  # promoted or rolled back: redeployed
    _set_split(store, rollout(), {"stable": "stable"}, 100.0)
    assert store.get("ep").table == table("stable")


def test_set_split_needs_a_table(store):
    with pytest.raises(NotFoundError, match="no traffic table"):
        _set_split(store, rollout(), {"stable": "stable"}, 10.0)


# -- start_rollout refusals (before any deploy) -----------------------------------------------
def test_start_without_a_recorded_spec(store):
    with pytest.raises(NotFoundError, match=r"endpoint 'ep' has no recorded spec in sqlite:///"):
        start_rollout(rollout(), store=store)
    store.put("ep", table("stable"), by="cli")  # a table, but no deploy recorded its spec
    with pytest.raises(NotFoundError, match="deploy it with raymaker deploy"):
        start_rollout(rollout(), store=store)


def test_start_while_a_rollout_is_active(store):
    store.put("ep", None, by="deploy", spec=MODELS_SPEC)
    for status in ("running", "holding"):
        store.put_rollout(
            "ep", {"spec": {"candidate": "fair:6"}, "state": {"status": status}, "history": []}
        )
        with pytest.raises(SpecError) as err:
            start_rollout(rollout(), store=store)
        assert f"already has a rollout of fair:6 ({status})" in str(err.value)
        assert "raymaker rollout resume ep" in str(err.value)


def test_start_a_candidate_of_another_model(store):
    store.put("ep", None, by="deploy", spec=MODELS_SPEC)
    with pytest.raises(SpecError, match="candidate other:5 is not a version of fair:4"):
        start_rollout(rollout(candidate="other:5"), store=store)


def test_start_with_a_variant_name_taken(store):
    store.put("ep", None, by="deploy", spec=VARIANTS_SPEC)
    with pytest.raises(SpecError, match="already has a variant 'blue'; name the candidate"):
        start_rollout(rollout(variant="blue"), store=store)
    store.put("ep", None, by="deploy", spec=MODELS_SPEC)
    with pytest.raises(SpecError, match="already has a variant 'stable'"):
        start_rollout(rollout(variant="stable"), store=store)


def test_start_a_version_that_is_not_approved(store, tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    store.put("ep", None, by="deploy", spec={**MODELS_SPEC, "tracking_uri": uri})
    with pytest.raises(NotFoundError, match="no registered model 'fair'"):
        start_rollout(rollout(), store=store)
    registry.register(xgboost_artifact(tmp_path / "art"), "fair", tracking_uri=uri)
    with pytest.raises(NotFoundError, match=r"no version 5; its versions are \[1\]"):
        start_rollout(rollout(), store=store)
    with pytest.raises(SpecError, match="fair:1 is Pending; only Approved versions are rolled out"):
        start_rollout(rollout(candidate="fair:1"), store=store)
    assert store.get_rollout("ep") is None  # nothing recorded


def test_a_deploy_records_its_versions_pinned_so_a_rollback_restores_exactly_them(tmp_path):
    """'fair' (newest Approved) would resolve to the candidate once it is Approved: the recorded
    spec names the versions the deploy resolved, and a rollback redeploys those."""
    from serve.config import ModelRef, endpoint_spec
    from serve.deploy import EndpointPlan, _pinned
    from serve.traffic.table import TrafficTable, VariantTarget

    one = endpoint_spec({"name": "ep", "models": [{"name": "fair"}]})
    plan = EndpointPlan((ModelRef(name="fair", version=4),), None, {})
    assert _pinned(one, plan)["models"] == [{"name": "fair", "version": 4, "force": False}]
    two = endpoint_spec(
        {
            "name": "ep",
            "variants": [{"name": "a", "model": "fair"}, {"name": "b", "model": "fair:5"}],
        }
    )
    table = TrafficTable(
        "ep", "d", (VariantTarget("a", "fair", 4, "ep"), VariantTarget("b", "fair", 5, "ep--b"))
    )
    recorded = _pinned(two, EndpointPlan((ModelRef(name="fair", version=4),), None, {}, table))
    assert [v["model"] for v in recorded["variants"]] == ["fair:4", "fair:5"]
    assert endpoint_spec(recorded).models[0].version == 4  # still a valid spec
