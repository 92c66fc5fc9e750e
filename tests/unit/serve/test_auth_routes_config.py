import hashlib

import pytest

from ray_apps.errors import AuthenticationError, PermissionDeniedError, SpecError
from ray_apps.spec import parse_spec
from serve import routes
from serve.auth import check_bearer
from serve.config import EndpointSpec

DIGESTS = (hashlib.sha256(b"k1").hexdigest(), hashlib.sha256(b"k2").hexdigest())


def test_bearer_keys():
    check_bearer(None, ())  # no keys configured: auth off
    check_bearer("Bearer k2", DIGESTS)
    check_bearer("bearer  k1", DIGESTS)
    with pytest.raises(AuthenticationError, match="needs an API key"):
        check_bearer(None, DIGESTS)
    with pytest.raises(AuthenticationError, match="Bearer <key>"):
        check_bearer("Basic k1", DIGESTS)
    with pytest.raises(PermissionDeniedError) as err:
        check_bearer("Bearer secret-guess", DIGESTS)
    assert "secret-guess" not in str(err.value)  # keys are never echoed


@pytest.mark.parametrize(
    ("method", "path", "name", "params"),
    [
        ("POST", "/v1/models/iris:predict", "v1_predict", {"name": "iris"}),
        ("GET", "/v1/models/iris", "v1_model", {"name": "iris"}),
        ("POST", "/v2/models/iris/infer", "v2_infer", {"name": "iris"}),
        ("POST", "/v2/models/iris/versions/3/infer", "v2_infer", {"name": "iris", "version": "3"}),
        (
            "GET",
            "/v2/models/iris/versions/3/ready",
            "v2_model_ready",
            {"name": "iris", "version": "3"},
        ),
        ("GET", "/v2/health/live/", "live", {}),
        ("HEAD", "/v2/health/ready", "ready", {}),
        (
            "POST",
            "/registry/models/iris/versions/2:approve",
            "registry_decide",
            {"name": "iris", "version": "2", "action": "approve"},
        ),
        ("GET", "/v1/models/iris:predict", "method_not_allowed", {}),
    ],
)
def test_routes(method, path, name, params):
    assert routes.match(method, path) == routes.Route(name, params)


def test_unknown_route_is_none():
    assert routes.match("GET", "/v3/anything") is None


def test_spec_rejects_unknown_keys_and_bad_bounds():
    with pytest.raises(SpecError, match="colour: unknown field"):
        parse_spec(EndpointSpec, {"models": [{"name": "m"}], "colour": "red"})
    with pytest.raises(SpecError, match="max_replicas 1 is below min_replicas 2"):
        parse_spec(EndpointSpec, {"models": [{"name": "m"}], "autoscaling": {"min_replicas": 2}})
    with pytest.raises(SpecError, match=r"lists \['m'\] more than once"):
        parse_spec(EndpointSpec, {"models": [{"name": "m"}, {"name": "m", "version": 2}]})
    with pytest.raises(SpecError, match="capture.percent"):
        parse_spec(EndpointSpec, {"models": [{"name": "m"}], "capture": {"percent": 150}})


def test_keys_come_from_named_env_vars_as_digests():
    spec = parse_spec(EndpointSpec, {"models": [{"name": "m"}], "auth": {"api_key_envs": ["K"]}})
    assert spec.auth.key_digests({"K": "k1, k2"}) == sorted(DIGESTS)
    with pytest.raises(SpecError, match="'K' but that environment variable is empty"):
        spec.auth.key_digests({})
