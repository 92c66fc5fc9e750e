"""The endpoint spec's model set (models: {prefix|tag, budget}) and model-scoped keys: parsed,
refused where they do not compose, carried to the replicas, accepted by the CLI."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from ray_apps.errors import SpecError
from ray_apps.spec import parse_spec
from serve.config import EndpointSpec
from serve.multi_model import ModelSetSpec

SET = {"prefix": "store-", "max_models": 4}
EXAMPLE = Path(__file__).resolve().parents[4] / "examples" / "endpoint_multi_model.yaml"


def _spec(**fields) -> EndpointSpec:
    return parse_spec(EndpointSpec, {"models": SET, **fields}, source="endpoint")


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def test_a_mapping_is_a_model_set_and_a_list_still_pins_models():
    spec = _spec()
    assert isinstance(spec.models, ModelSetSpec) and spec.model_set.max_models == 4
    assert not spec.async_inference.enabled  # off by default for a set
    pinned = parse_spec(EndpointSpec, {"models": [{"name": "cancer", "version": 3}]})
    assert pinned.model_set is None and pinned.models[0].version == 3
    assert pinned.async_inference.enabled
    again = parse_spec(EndpointSpec, spec.model_dump(mode="json"))
    assert again == spec  # the spec a deploy records reads back as deployed


@pytest.mark.parametrize(
    ("models", "says"),
    [
        ({"prefix": "store-", "max_models": 4, "colour": 1}, "models.colour: unknown field"),
        ({"prefix": "store-"}, "sets no budget"),
        ([{"name": "-"}], "models.0.name: String should match pattern"),
        ([], "at least 1 item"),
        ("store-", "a list of registered models ([{name: cancer, version: 3}]) or a model set"),
    ],
)
def test_errors_come_from_the_form_given_only(models, says):
    with pytest.raises(SpecError) as err:
        parse_spec(EndpointSpec, {"models": models}, source="endpoint")
    assert says in str(err.value)
    other = "ModelSetSpec" if isinstance(models, list) else "list[ModelRef]"
    assert other not in str(err.value)


def test_variants_shadow_and_async_do_not_compose_with_a_set_and_say_why():
    with pytest.raises(SpecError, match="variants and a shadow split ONE model's traffic"):
        _spec(variants=[{"name": "a", "model": "store-1:1"}])
    with pytest.raises(SpecError, match=r"also sets \['shadow'\]"):
        _spec(shadow={"variant": "cand"})
    with pytest.raises(SpecError, match="async_inference: {enabled: false}"):
        _spec(async_inference={"enabled": True})
    with pytest.raises(SpecError, match="async_inference is enabled"):
        _spec(async_inference={"max_queued": 10})  # enabled by default once given
    assert not _spec(async_inference={"enabled": False}).async_inference.enabled


def test_scoped_keys_are_inference_keys_with_a_scope():
    auth = _spec(
        auth={
            "api_key_envs": ["ALL"],
            "scoped_key_envs": {"S12": ["store-12"], "S1X": ["store-1*"]},
        }
    ).auth
    env = {"ALL": "a", "S12": "k12, both", "S1X": "k1x,both"}
    scopes = auth.scoped_key_digests(env)
    assert scopes == {
        _digest("k12"): ("store-12",),
        _digest("k1x"): ("store-1*",),
        _digest("both"): ("store-12", "store-1*"),  # a key in two scoped variables: either
    }
    assert set(auth.key_digests(env)) == {_digest(k) for k in ("a", "k12", "k1x", "both")}


def test_a_key_both_scoped_and_unscoped_or_admin_is_refused():
    auth = _spec(
        auth={
            "api_key_envs": ["ALL"],
            "scoped_key_envs": {"S12": ["store-12"]},
            "admin_key_envs": ["ADMIN"],
        }
    ).auth
    with pytest.raises(SpecError, match="also in auth.api_key_envs, so whether it may call"):
        auth.scoped_key_digests({"ALL": "a,k", "S12": "k", "ADMIN": "x"})
    with pytest.raises(SpecError, match="also in auth.api_key_envs or auth.scoped_key_envs"):
        auth.admin_key_digests({"ALL": "a", "S12": "k", "ADMIN": "k"})
    with pytest.raises(SpecError, match="'S12' but that environment variable is empty"):
        auth.scoped_key_digests({"ALL": "a"})


@pytest.mark.parametrize(
    ("auth", "says"),
    [
        ({"api_key_envs": ["K"], "scoped_key_envs": {"K": ["m"]}}, "names ['K'] in scoped"),
        ({"scoped_key_envs": {"K": []}}, "is empty, which would let the key call no model"),
        ({"scoped_key_envs": {"K": ["st*re"]}}, "one * at the end"),
    ],
)
def test_bad_scoped_key_settings_are_refused(auth, says):
    with pytest.raises(SpecError) as err:
        _spec(auth=auth)
    assert says in str(err.value)


def test_the_plan_pins_nothing_and_the_replicas_get_the_set_and_scopes(monkeypatch, tmp_path):
    from serve.deploy import plan, serve_config
    from serve.replica_settings import ReplicaSettings

    monkeypatch.setenv("S12", "k12")
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    spec = {
        "name": "stores",
        "models": SET,
        "tracking_uri": uri,
        "auth": {"scoped_key_envs": {"S12": ["store-12"]}},
    }
    p = plan(spec)
    assert p.models == () and p.user_config() == {"models": []} and p.served() == []
    assert p.settings.model_set == ModelSetSpec(**SET)
    assert p.settings.key_scopes == {_digest("k12"): ["store-12"]}
    assert p.settings.key_digests == (_digest("k12"),)
    config = serve_config(spec)
    (app,) = config["applications"]
    assert [d["name"] for d in app["deployments"]] == ["endpoint"]  # no async consumer
    assert ReplicaSettings.parse(app["args"]["settings"]) == p.settings


def test_a_rollout_on_a_model_set_endpoint_is_refused_naming_why():
    from serve.rollout.controller import _variants

    with pytest.raises(SpecError, match="serves a model set"):
        _variants({"name": "stores", "models": SET})


def test_the_example_and_the_cli_read_a_model_set_config(tmp_path):
    import yaml

    from ray_apps.cli.deploy import _spec as cli_spec
    from serve.config import endpoint_spec, load_endpoint_spec

    example = load_endpoint_spec(EXAMPLE)
    assert example.model_set.prefix == "store-" and example.auth.scoped_key_envs
    data = cli_spec(None, EXAMPLE, None, None, None, None, None, False)
    assert data["name"] == "stores" and endpoint_spec(data).model_set == example.model_set
    unnamed = tmp_path / "endpoint.yaml"
    unnamed.write_text(yaml.safe_dump({"models": SET}))
    data = cli_spec(None, unnamed, None, None, 5, None, None, False)
    assert endpoint_spec(data).name == "raymaker"  # the spec's default, not a model's name
