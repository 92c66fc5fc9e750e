import hashlib

import pytest

from ray_apps.errors import AuthenticationError, PermissionDeniedError, SpecError
from ray_apps.spec import parse_spec
from serve import routes
from serve.auth import authorize, check_bearer
from serve.config import EndpointSpec

DIGESTS = (hashlib.sha256(b"k1").hexdigest(), hashlib.sha256(b"k2").hexdigest())
ADMIN = (hashlib.sha256(b"boss").hexdigest(),)


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
            "/admin/registry/models/iris/versions/2:approve",
            "admin_decide",
            {"name": "iris", "version": "2", "action": "approve"},
        ),
        (
            "POST",
            "/registry/models/iris/versions/2:reject",
            "registry_decide_moved",
            {"name": "iris", "version": "2", "action": "reject"},
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


def test_every_route_has_a_role_and_only_state_changes_and_batch_jobs_are_admin():
    names = {name for _, _, name in routes._TABLE}
    assert names == set(routes.ROLES)
    admin = {n for n, r in routes.ROLES.items() if r == "admin"}
    assert admin == {
        "admin_decide",
        "batch_submit",
        "batch_status",
        "batch_list",
        "traffic_show",
        "traffic_change",
        "pipeline_run",
        "model_cache",
    }
    assert routes.match("POST", "/admin/batch/jobs").name == "batch_submit"
    assert routes.match("GET", "/admin/models").name == "model_cache"
    run = routes.match("POST", "/admin/pipelines/retrain:run")
    assert run.name == "pipeline_run" and run.params == {"pipeline": "retrain"}
    assert routes.match("GET", "/admin/pipelines/retrain:run").name == "method_not_allowed"
    job = routes.match("GET", "/admin/batch/jobs/scores-20261124-101500-a1b2c3")
    assert job.name == "batch_status" and job.params == {"job_id": "scores-20261124-101500-a1b2c3"}
    assert routes.match("GET", "/admin/batch/jobs").name == "batch_list"
    assert routes.match("DELETE", "/admin/batch/jobs").name == "method_not_allowed"
    open_routes = {n for n, r in routes.ROLES.items() if r == "open"}
    assert open_routes == {"live", "ready", "v2_server", "openapi"}
    assert routes.role_of("a_route_nobody_listed") == "admin"  # fail closed
    route = routes.match("POST", "/admin/registry/models/m/versions/1:reject")
    assert route.role == "admin"
    assert routes.match("GET", "/registry/models/m/versions/1").role == "inference"


@pytest.mark.parametrize(
    ("role", "header", "keys", "admin", "error", "says"),
    [
        ("open", None, DIGESTS, ADMIN, None, ""),
        ("inference", "Bearer k1", DIGESTS, ADMIN, None, ""),
        ("inference", "Bearer boss", DIGESTS, ADMIN, None, ""),  # admins may read and call
        ("inference", None, (), ADMIN, None, ""),  # no inference keys: inference is open
        ("admin", "Bearer boss", DIGESTS, ADMIN, None, ""),
        ("admin", "Bearer boss", (), ADMIN, None, ""),
        ("admin", "Bearer k1", DIGESTS, ADMIN, PermissionDeniedError, "needs an admin credential"),
        ("admin", None, DIGESTS, ADMIN, AuthenticationError, "needs an admin credential"),
        ("admin", "Bearer guess", DIGESTS, ADMIN, PermissionDeniedError, "admin credential"),
        ("admin", "Bearer k1", DIGESTS, (), PermissionDeniedError, "admin_key_envs"),
        ("admin", None, (), (), PermissionDeniedError, "admin routes are off"),  # never open
    ],
)
def test_authorize_by_role(role, header, keys, admin, error, says):
    if error is None:
        authorize(role, header, keys, admin)
        return
    with pytest.raises(error, match=says) as err:
        authorize(role, header, keys, admin)
    assert "guess" not in str(err.value) and "k1" not in str(err.value)


def test_admin_keys_come_from_their_own_variables_and_differ_from_inference_keys():
    auth = {"api_key_envs": ["K"], "admin_key_envs": ["A"]}
    spec = parse_spec(EndpointSpec, {"models": [{"name": "m"}], "auth": auth})
    assert spec.auth.admin_key_digests({"K": "k1", "A": "boss"}) == list(ADMIN)
    with pytest.raises(SpecError, match="also in auth.api_key_envs"):
        spec.auth.admin_key_digests({"K": "k1", "A": "k1"})
    with pytest.raises(SpecError, match="admin_key_envs names 'A'"):
        spec.auth.admin_key_digests({"K": "k1"})
    with pytest.raises(SpecError, match=r"names \['K'\] in both"):
        parse_spec(
            EndpointSpec,
            {"models": [{"name": "m"}], "auth": {"api_key_envs": ["K"], "admin_key_envs": ["K"]}},
        )
