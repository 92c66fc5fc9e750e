"""``variants:``, ``shadow:`` and ``fault:`` in the endpoint spec: what it accepts and refuses."""

import pytest

from ray_apps.errors import SpecError
from serve.config import FaultSpec, ModelRef, endpoint_spec

PROD = {"name": "prod", "model": "fair:4", "weight": 90}
CAND = {"name": "cand", "model": "fair:5", "weight": 10}
DARK = {"name": "dark", "model": "fair:6", "weight": 0}


def spec(**fields):
    return endpoint_spec({"name": "ep", **fields})


def refused(**fields) -> str:
    with pytest.raises(SpecError) as err:
        spec(**fields)
    return str(err.value)


def test_models_are_derived_from_the_first_variant():
    s = spec(variants=[PROD, CAND])
    assert s.models == [ModelRef(name="fair", version=4, force=False)]
    assert [(v.name, v.model_name, v.version, v.weight) for v in s.variants] == [
        ("prod", "fair", 4, 90.0),
        ("cand", "fair", 5, 10.0),
    ]
    forced = spec(variants=[{**PROD, "force": True}])
    assert forced.models == [ModelRef(name="fair", version=4, force=True)]
    newest = spec(variants=[{"name": "prod", "model": "fair"}, CAND])
    assert newest.models == [ModelRef(name="fair", version=None)]
    assert newest.variants[0].version is None and newest.variants[0].weight == 1.0


def test_models_equal_to_the_first_variant_may_be_given_too():
    s = spec(models=[{"name": "fair", "version": 4}], variants=[PROD, CAND])
    assert s.models == [ModelRef(name="fair", version=4)]


def test_a_spec_without_variants_is_unchanged():
    s = spec(models=[{"name": "fair"}])
    assert s.variants is None and s.shadow is None


def test_shadow_and_per_variant_replicas_and_fault():
    s = spec(
        variants=[
            PROD,
            {
                **DARK,
                "num_cpus": 0.25,
                "resources": {"rmk_worker": 1},
                "autoscaling": {"max_replicas": 1},
                "fault": {"abort_percent": 50, "abort_status": 503},
            },
        ],
        shadow={"variant": "dark", "percent": 30},
    )
    assert (s.shadow.variant, s.shadow.percent) == ("dark", 30.0)
    dark = s.variants[1]
    assert (dark.num_cpus, dark.resources, dark.autoscaling.max_replicas) == (
        0.25,
        {"rmk_worker": 1},
        1,
    )
    assert dark.fault == FaultSpec(abort_percent=50, abort_status=503)
    assert spec(variants=[PROD, DARK], shadow={"variant": "dark"}).shadow.percent == 100.0


def test_duplicate_variant_names():
    message = refused(variants=[PROD, {**CAND, "name": "prod"}])
    assert "variants names ['prod'] more than once; give each a unique name" in message


def test_variants_of_two_models():
    message = refused(variants=[PROD, {**CAND, "model": "other:1"}])
    assert "variants serve models ['fair', 'other']" in message
    assert "register the candidate under the same model name" in message


@pytest.mark.parametrize(
    "models",
    [
        [{"name": "fair", "version": 3}],  # another version
        [{"name": "other", "version": 4}],  # another model
        [{"name": "fair"}],  # newest approved, where the variant pins 4
        [{"name": "fair", "version": 4}, {"name": "other"}],  # a second model
    ],
)
def test_models_and_variants_that_differ(models):
    message = refused(models=models, variants=[PROD, CAND])
    assert "give either models: or variants:, not both" in message


def test_all_weights_zero():
    message = refused(variants=[{**PROD, "weight": 0}, {**CAND, "weight": 0}])
    assert "weights are all 0; give at least one a positive weight" in message


def test_negative_weight_and_bad_variant_name():
    assert "variants.1.weight" in refused(variants=[PROD, {**CAND, "weight": -1}])
    assert "variants.1.name" in refused(variants=[PROD, {**CAND, "name": "a b"}])


def test_shadow_of_an_unknown_variant():
    message = refused(variants=[PROD, DARK], shadow={"variant": "nope"})
    assert "shadow.variant 'nope' is not a variant; variants are ['prod', 'dark']" in message


def test_shadow_of_the_first_variant():
    message = refused(variants=[PROD, DARK], shadow={"variant": "prod"})
    assert "'prod' is the first variant, which answers callers" in message


def test_shadow_of_a_weighted_variant():
    message = refused(variants=[PROD, CAND], shadow={"variant": "cand"})
    assert "'cand' is the shadow and has weight 10" in message
    assert "set its weight to 0" in message


def test_shadow_without_variants():
    message = refused(models=[{"name": "fair"}], shadow={"variant": "cand"})
    assert "shadow names a variant but the endpoint has no variants" in message


@pytest.mark.parametrize("percent", [0, -1, 101])
def test_shadow_percent_out_of_range(percent):
    assert "shadow.percent" in refused(
        variants=[PROD, DARK], shadow={"variant": "dark", "percent": percent}
    )


def test_fault_on_the_first_variant_is_refused():
    message = refused(variants=[{**PROD, "fault": {"abort_percent": 50}}, CAND])
    assert "fault" in message


@pytest.mark.parametrize(
    ("ref", "why"),
    [
        ("x:0", "versions start at 1"),
        ("x:abc", "must be 'name:version' (e.g. fair:4) or a registered name"),
        ("x:-1", "must be 'name:version'"),
        ("x:1.5", "must be 'name:version'"),
        (":3", "must be 'name:version'"),
        ("-x:3", "must be 'name:version'"),
    ],
)
def test_bad_model_refs(ref, why):
    message = refused(variants=[{"name": "prod", "model": ref}])
    assert "variants.0.model" in message and why in message and repr(ref) in message


def test_fault_fields_are_checked():
    bad = {**DARK, "fault": {"abort_status": 200}}
    assert "variants.1.fault.abort_status" in refused(variants=[PROD, bad])
    bad = {**DARK, "fault": {"delay_percent": 101}}
    assert "variants.1.fault.delay_percent" in refused(variants=[PROD, bad])
    bad = {**DARK, "fault": {"bogus": 1}}
    assert "variants.1.fault.bogus" in refused(variants=[PROD, bad])
