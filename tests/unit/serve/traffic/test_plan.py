"""What deploying variants means: pinned versions, where each variant runs (the endpoint's
replicas or an app of its own), the table."""

import re

import pytest

from serve.config import AutoscalingSpec, FaultSpec, ModelRef, endpoint_spec
from serve.replica_settings import ReplicaSettings
from serve.traffic.plan import plan_variants, variant_app

NEWEST = 7  # the fake registry's newest approved version


def resolve_log():
    calls = []

    def resolve(name, version, force):
        calls.append((name, version, force))
        return ModelRef(name=name, version=version or NEWEST, force=force)

    return resolve, calls


def build(tmp_path, **fields):
    spec = endpoint_spec(
        {
            "name": "ep",
            "num_cpus": 1,
            "resources": {"rmk_worker": 1},
            "autoscaling": {"min_replicas": 2, "max_replicas": 8},
            **fields,
        }
    )
    settings = ReplicaSettings.from_spec(spec, tracking_uri="sqlite:///x.db", home=tmp_path)
    deployment = {
        "autoscaling_config": spec.autoscaling.to_serve(),
        "max_ongoing_requests": spec.max_ongoing_requests,
        "ray_actor_options": spec.ray_actor_options(),
        **spec.placement(),
    }
    resolve, calls = resolve_log()
    planned = plan_variants(spec, settings, deployment, resolve)
    if planned is None:
        return spec, settings, deployment, None, (), calls
    return spec, settings, deployment, planned.table, planned.own, calls


VARIANTS = [
    {"name": "prod", "model": "fair", "weight": 80},
    {
        "name": "cand",
        "model": "fair:5",
        "weight": 20,
        "force": True,
        "num_cpus": 0.25,
        "resources": {"small": 0.5},
        "autoscaling": {"max_replicas": 1},
        "fault": {"abort_percent": 10},
    },
    {"name": "dark", "model": "fair:6", "weight": 0, "replicas": "own"},
]


def test_no_variants_no_table_no_apps(tmp_path):
    *_, table, plans, calls = build(tmp_path, models=[{"name": "fair"}])
    assert (table, plans, calls) == (None, (), [])


def test_each_variant_is_pinned_through_resolve(tmp_path):
    *_, table, plans, calls = build(tmp_path, variants=VARIANTS)
    assert calls == [("fair", None, False), ("fair", 5, True), ("fair", 6, False)]
    assert [(v.name, v.model, v.version) for v in table.variants] == [
        ("prod", "fair", NEWEST),
        ("cand", "fair", 5),
        ("dark", "fair", 6),
    ]
    assert [p.model for p in plans] == [
        ModelRef(name="fair", version=5, force=True),
        ModelRef(name="fair", version=6, force=False),
    ]
    assert plans[0].user_config() == {"models": [{"name": "fair", "version": 5, "force": True}]}


def test_apps_the_first_variant_in_the_endpoint_the_others_their_own(tmp_path):
    *_, table, plans, _ = build(tmp_path, variants=VARIANTS)
    assert [v.app for v in table.variants] == ["ep", "ep--cand", "ep--dark"]
    assert [(p.name, p.app) for p in plans] == [("cand", "ep--cand"), ("dark", "ep--dark")]
    assert variant_app("ep", "cand") == "ep--cand"


def test_the_table_carries_weights_shadow_and_a_fresh_deploy_id(tmp_path):
    *_, table, _, _ = build(tmp_path, variants=VARIANTS, shadow={"variant": "dark", "percent": 40})
    assert table.endpoint == "ep" and table.local == "prod"
    assert dict(table.weights) == {"prod": 80.0, "cand": 20.0, "dark": 0.0}
    assert (table.shadow, table.shadow_percent, table.generation) == ("dark", 40.0, 0)
    assert re.fullmatch(r"[0-9a-f]{32}", table.deploy_id)
    *_, again, _, _ = build(tmp_path, variants=VARIANTS)
    assert again.deploy_id != table.deploy_id  # every deploy resets the table
    assert (again.shadow, again.shadow_percent) == (None, 0.0)


def test_variant_replica_options_override_the_endpoints(tmp_path):
    spec, _, deployment, _, plans, _ = build(tmp_path, variants=VARIANTS)
    cand, dark = (p.deployment for p in plans)
    assert cand["ray_actor_options"] == {"num_cpus": 0.25, "resources": {"small": 0.5}}
    assert cand["autoscaling_config"] == AutoscalingSpec(max_replicas=1).to_serve()
    assert cand["max_ongoing_requests"] == spec.max_ongoing_requests
    # Left out: the endpoint's.
    assert dark["ray_actor_options"] == {"num_cpus": 1.0, "resources": {"rmk_worker": 1.0}}
    assert dark["autoscaling_config"] == spec.autoscaling.to_serve()
    assert dark["autoscaling_config"]["max_replicas"] == 8
    # The endpoint's own options are not changed by a variant's.
    assert deployment["ray_actor_options"] == {"num_cpus": 1.0, "resources": {"rmk_worker": 1.0}}


def test_variant_settings_no_async_no_store_and_their_own_fault(tmp_path):
    _, settings, _, _, plans, _ = build(tmp_path, variants=VARIANTS)
    cand, dark = (p.settings for p in plans)
    for s in (cand, dark):
        assert s.async_inference.enabled is False and s.traffic_store_url is None
        assert s.endpoint == "ep" and s.capture == settings.capture
    assert cand.fault == FaultSpec(abort_percent=10) and dark.fault is None
    # The endpoint's own settings keep async and the store.
    assert settings.async_inference.enabled and settings.traffic_store_url.startswith("sqlite:///")
    assert settings.fault is None


def test_build_args_hand_the_variant_its_model_settings_and_options(tmp_path):
    *_, plans, _ = build(tmp_path, variants=VARIANTS)
    args = plans[0].build_args()
    assert args["models"] == [{"name": "fair", "version": 5, "force": True}]
    assert args["settings"] is plans[0].settings and args["deployment"] is plans[0].deployment


def test_a_variant_without_replica_settings_shares_the_endpoints_replicas(tmp_path):
    variants = [
        {"name": "prod", "model": "fair:4"},
        {"name": "cand", "model": "fair:5", "weight": 0},
        {"name": "big", "model": "fair:6", "weight": 0, "num_cpus": 2},
    ]
    spec = endpoint_spec({"name": "ep", "variants": variants})
    settings = ReplicaSettings.from_spec(spec, tracking_uri="sqlite:///x.db", home=tmp_path)
    deployment = {"autoscaling_config": {}, "ray_actor_options": {"num_cpus": 0.5}}
    planned = plan_variants(spec, settings, deployment, resolve_log()[0])
    assert [v.app for v in planned.table.variants] == ["ep", "ep", "ep--big"]
    assert planned.shared == {"cand": ModelRef(name="fair", version=5)}
    assert [p.name for p in planned.own] == ["big"]


def test_shared_replicas_take_no_replica_settings():
    with pytest.raises(ValueError, match=r"replicas: shared.*\['num_cpus'\].*replicas: own"):
        endpoint_spec(
            {
                "name": "ep",
                "variants": [
                    {"name": "prod", "model": "fair:4"},
                    {"name": "cand", "model": "fair:5", "replicas": "shared", "num_cpus": 1},
                ],
            }
        )


@pytest.mark.parametrize("n", [1, 2])
def test_a_single_variant_has_a_table_and_no_app_of_its_own(tmp_path, n):
    *_, table, plans, _ = build(tmp_path, variants=VARIANTS[:n])
    assert len(table.variants) == n and len(plans) == n - 1
