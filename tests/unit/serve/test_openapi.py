"""The endpoint's OpenAPI document (``GET /openapi.json``): valid OpenAPI 3.1, one operation per
route of ``serve.routes`` (both ways), security from the route's role, and its V2 part in
agreement with the Open Inference Protocol's own document (``serve/openapi/upstream``).

The fuzzing of the endpoint against the document is ``test_openapi_fuzz.py``.
"""

import asyncio
import hashlib
import json
import re
from pathlib import Path

import jsonschema
import pytest
import yaml
from _factories import xgboost_artifact
from openapi_spec_validator import OpenAPIV31SpecValidator

import serve
import serve.openapi
from ray_apps.artifact import load_model
from serve import routes
from serve.endpoint import EndpointCore
from serve.openapi import document
from serve.openapi.operations import OPERATIONS
from serve.served_model import ServedModel

UPSTREAM = Path(serve.__file__).parent / "openapi" / "upstream" / "open_inference_rest.yaml"
KEY = "k"
AUTH = {"authorization": f"Bearer {KEY}"}
# A value for each path parameter, as a client would send it.
SAMPLE = {"name": "m", "version": "3", "id": "ab12", "job_id": "j-1", "pipeline": "retrain"}
METHODS = ("get", "post", "put", "patch", "delete")


@pytest.fixture(scope="module")
def doc():
    return document("0.1.0")


@pytest.fixture(scope="module")
def upstream():
    return yaml.safe_load(UPSTREAM.read_text())


def operations(d):
    for path, item in d["paths"].items():
        for method in METHODS:
            if method in item:
                yield path, method.upper(), item[method]


def concrete(path: str) -> str:
    return re.sub(r"{(\w+)}", lambda m: SAMPLE[m.group(1)], path)


def test_the_package_exports_the_document_builder():
    assert serve.openapi.__all__ == ["document"]


def test_the_document_is_valid_openapi_3_1(doc):
    errors = [e.message for e in OpenAPIV31SpecValidator(doc).iter_errors()]
    assert errors == []
    ids = [op["operationId"] for _, _, op in operations(doc)]
    assert len(ids) == len(set(ids)) == len(OPERATIONS)


def test_every_route_of_the_table_is_in_the_document():
    """A route added to serve/routes.py without an operation in serve/openapi fails here."""
    table = {(verb, name) for verb, _, name in routes._TABLE}
    documented = {(op.method, op.route) for op in OPERATIONS}
    assert table - documented == set(), "routes missing from serve/openapi/operations.py"
    assert documented - table == set(), "operations of routes serve/routes.py does not have"
    for _, pattern, name in routes._TABLE:  # each regex matches one of its documented paths
        paths = [concrete(op.path) for op in OPERATIONS if op.route == name]
        assert any(pattern.fullmatch(p) for p in paths), (name, pattern.pattern, paths)


def test_every_documented_path_reaches_its_route_with_its_role(doc):
    by_id = {op.path + op.method: op.route for op in OPERATIONS}
    security = {
        "open": [],
        "inference": [{"inferenceKey": []}, {"adminKey": []}],
        "admin": [{"adminKey": []}],
    }
    for path, method, op in operations(doc):
        route = routes.match(method, concrete(path))
        assert route is not None and route.name == by_id[path + method], (method, path)
        assert op["security"] == security[route.role], (method, path)
        codes = set(op["responses"])
        assert ({"401", "403"} <= codes) == (route.role != "open"), (method, path)
        params = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
        assert params == set(re.findall(r"{(\w+)}", path)), (method, path)


@pytest.fixture(scope="module")
def core(tmp_path_factory):
    art = xgboost_artifact(tmp_path_factory.mktemp("m") / "a")
    c = EndpointCore(key_digests=(hashlib.sha256(KEY.encode()).hexdigest(),), version="9.9")
    c.set_models({"iris": ServedModel("iris", 2, "Approved", load_model(art))})
    return c


def call(core, method, path, body=None, headers=None, root=""):
    raw = b"" if body is None else json.dumps(body).encode()

    async def read_body():
        return raw

    headers = {**(headers or {}), "content-length": str(len(raw))}
    reply = asyncio.run(core.handle(method, path, headers, read_body, "rid", root_path=root))
    return reply.status, json.loads(json.dumps(reply.payload))


def test_the_endpoint_serves_it_without_a_key(core):
    status, payload = call(core, "GET", "/openapi.json")
    assert status == 200 and payload == json.loads(json.dumps(document("9.9")))
    assert payload["info"]["version"] == "9.9" and "servers" not in payload
    _, mounted = call(core, "GET", "/openapi.json", root="/iris/")
    assert mounted["servers"] == [{"url": "/iris"}]  # paths are relative to the route prefix
    assert call(core, "POST", "/openapi.json")[0] == 405


# --- agreement with the Open Inference Protocol's document ---------------------------------


def upstream_path(path: str) -> str:
    path = path.replace("${MODEL_NAME}", "{name}").replace("${MODEL_VERSION}", "{version}")
    return path.rstrip("/") or "/"


def schema_name(media_or_response) -> str | None:
    schema = (media_or_response.get("content") or {}).get("application/json", {}).get("schema")
    return schema["$ref"].rsplit("/", 1)[1] if schema else None


def test_every_upstream_v2_path_is_ours_with_the_same_schemas(doc, upstream):
    assert upstream["openapi"].startswith("3.0")
    for path, method, theirs in operations(upstream):
        ours = doc["paths"][upstream_path(path)][method.lower()]
        if "requestBody" in theirs:
            assert schema_name(ours["requestBody"]) == schema_name(theirs["requestBody"])
        assert "200" in ours["responses"], (path, method)
        for status, answer in theirs["responses"].items():
            if status not in ours["responses"] or schema_name(answer) is None:
                continue  # a status ours never answers (400 on GET /v2), or no schema upstream
            mine = schema_name(ours["responses"][status])
            if status == "200":  # the same schema, by the protocol's name
                assert mine == schema_name(answer), (path, method)
            else:  # errors: ours is raymaker's {"error": "..."}, the protocol's shape
                assert_agree(doc, upstream, mine, schema_name(answer), "answer")


def used_schemas(upstream) -> dict[str, str]:
    """{upstream schema name: "request" | "answer"}, following references."""
    kinds = {}

    def walk(name, kind):
        if name in kinds:
            return
        kinds[name] = kind
        text = json.dumps(upstream["components"]["schemas"][name])
        for nested in re.findall(r'#/components/schemas/(\w+)"', text):
            walk(nested, kind)

    for _, _, op in operations(upstream):
        if "requestBody" in op:
            walk(schema_name(op["requestBody"]), "request")
        for answer in op["responses"].values():
            if schema_name(answer):
                walk(schema_name(answer), "answer")
    return kinds


# Upstream properties ours leaves out, and why (serve/openapi/upstream/README.md).
NOT_OURS = {("metadata_model_response", "properties"): "not in the protocol's text"}


def resolve(d, schema):
    while "$ref" in schema:
        schema = d["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def types(schema) -> set[str]:
    t = schema.get("type", "any")
    return set(t) if isinstance(t, list) else {t}


def assert_agree(doc, upstream, ours_name, theirs_name, kind):
    ours = resolve(doc, {"$ref": f"#/components/schemas/{ours_name}"})
    theirs = resolve(upstream, {"$ref": f"#/components/schemas/{theirs_name}"})
    assert types(ours) == types(theirs), theirs_name
    if kind == "request":  # ours asks no more than the protocol; it may read null as absent
        assert set(ours.get("required", [])) <= set(theirs.get("required", [])), theirs_name
    else:  # ours answers at least what the protocol says an answer has
        assert set(ours.get("required", [])) >= set(theirs.get("required", [])), theirs_name
    for prop, their_prop in theirs.get("properties", {}).items():
        if (theirs_name, prop) in NOT_OURS:
            assert prop not in ours["properties"]
            continue
        assert prop in ours.get("properties", {}), (theirs_name, prop)
        mine = resolve(doc, ours["properties"][prop])
        theirs_types = types(resolve(upstream, their_prop))
        allowed = theirs_types | ({"null"} if kind == "request" else set())
        assert theirs_types <= types(mine) <= allowed, (theirs_name, prop)
    if "items" in theirs:
        assert types(resolve(doc, ours["items"])) == types(resolve(upstream, theirs["items"]))


def test_our_v2_schemas_agree_with_the_protocols(doc, upstream):
    kinds = used_schemas(upstream)
    assert {"inference_request", "inference_response", "metadata_model_response"} <= set(kinds)
    for name, kind in kinds.items():
        assert name in doc["components"]["schemas"], name  # the protocol's names are ours
        assert_agree(doc, upstream, name, name, kind)


def test_real_v2_answers_validate_against_the_protocols_schemas(core, upstream):
    def check(payload, name):
        schema = {"$ref": f"#/components/schemas/{name}", "components": upstream["components"]}
        jsonschema.validate(payload, schema)

    body = {"id": "r", "inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP32",
                                   "data": [5.1, 3.5, 1.4, 0.2]}]}  # fmt: skip
    check(body, "inference_request")
    for path in ("/v2/models/iris/infer", "/v2/models/iris/versions/2/infer"):
        status, payload = call(core, "POST", path, body, AUTH)
        assert status == 200
        check(payload, "inference_response")
    status, payload = call(core, "POST", "/v2/models/iris/explain", body, AUTH)
    assert status == 200 and {o["name"] for o in payload["outputs"]} >= {"shap_values"}
    check(payload, "inference_response")
    check(call(core, "GET", "/v2/models/iris", None, AUTH)[1], "metadata_model_response")
    check(call(core, "GET", "/v2")[1], "metadata_server_response")
    status, payload = call(core, "POST", "/v2/models/iris/infer", {"inputs": []}, AUTH)
    assert status == 400
    check(payload, "inference_error_response")
