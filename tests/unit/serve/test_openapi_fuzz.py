"""Schemathesis against the endpoint's ASGI app, in-process, from the document it serves at
``GET /openapi.json``.

Every operation gets its examples, the coverage cases schemathesis derives from the schemas
(boundaries, missing and wrong-typed fields, other methods, missing or malformed credentials),
Hypothesis-generated requests, and a fuzz dictionary (each path parameter and header in turn
set to odd values: '²', 5,000 digits, NUL, fullwidth letters); each is sent with one of four
credentials in turn: none, a wrong key, an inference key, an admin key. Every answer must be
documented (status, media type, headers and body schema) and none a server error (5xx); a
request without an accepted credential must be refused 401/403 on every route that is not
open. The core behind the app is a real one: an XGBoost iris model served (iris:1 Approved,
iris:2 Pending in a real registry), labels kept, the async queue on SQLite, batch jobs recorded
(the Ray actor that would run one is not started). Variants, a model set and pipelines are off
on this endpoint (their routes answer their documented 404).

About 2,700 requests, 25 s of them on the 2-core box, after some 12 s creating the MLflow store:

    .venv/bin/python -m pytest -q -s tests/unit/serve/test_openapi_fuzz.py
"""

import asyncio
import hashlib
import time
from collections import Counter
from urllib.parse import unquote, urlsplit

import numpy as np
import pytest
import schemathesis
from _factories import xgboost_artifact
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import CHECKS, load_all_checks
from schemathesis.core import NOT_SET

from ray_apps import registry
from ray_apps.artifact import load_model
from serve import routes
from serve._asgi import make_asgi
from serve.async_inference import AsyncStore
from serve.async_inference.front import AsyncFront
from serve.config import AsyncInferenceSpec
from serve.endpoint import EndpointCore
from serve.openapi import document, operations
from serve.served_model import ServedModel

KEY, ADMIN = "inference-key-0123", "admin-key-4567"
VERSION = "0.1.0"
CREDENTIALS = {
    "none": {},
    "wrong": {"Authorization": "Bearer not-a-key"},
    "inference": {"Authorization": f"Bearer {KEY}"},
    "admin": {"Authorization": f"Bearer {ADMIN}"},
}
WHO = ["none", "inference", "wrong", "admin"]
load_all_checks()
# By the names the CLI takes (--checks): no 5xx, and every status, media type, header and body
# as the document says.
SERVER_ERROR = CHECKS.get_by_names(["not_a_server_error"])
CONFORMANCE = SERVER_ERROR + CHECKS.get_by_names(
    [
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
        "response_schema_conformance",
    ]
)
EXAMPLES_PER_OPERATION = 15  # generated; the examples and coverage phases add theirs
MIN_CASES = 500


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


# The document the endpoint serves (the app fixture checks that it is): built by a pure
# function, cheap at import, where the parametrized tests must exist.
schema = schemathesis.openapi.from_dict(document(VERSION))
schema.config.update(request_timeout=60)  # a generous bound for a busy 2-core box
OPERATIONS = {op.ok().label for op in schema.get_all_operations()}
ROUTE_OF = {(op.method, op.path): op.route for op in operations.OPERATIONS}

# Path parameters: the generated value, or one this endpoint knows (so requests reach the
# model and the registry). And a fuzz dictionary: every path parameter and header of every
# operation set in turn to each value below, the others known, in the examples phase.
KNOWN = {"name": "iris", "version": "1", "id": "0" * 32, "job_id": "j", "pipeline": "retrain"}
EDGES = ["²", "٣", "9" * 5000, "0", "-1", " ", ".", "%", "\x00", "ｉｒｉｓ", "iris\n", "é" * 300]
HEADER_EDGES = ["²", "9" * 5000, "-1", "0x10"]  # what a header carries: latin-1


@schema.hook
def flatmap_path_parameters(context, parameters):
    if not isinstance(parameters, dict):
        return st.just(parameters)
    return st.fixed_dictionaries({n: st.sampled_from([v, KNOWN[n]]) for n, v in parameters.items()})


@schema.hook
def before_add_examples(context, examples):
    op = context.operation
    body = examples[0].body if examples else NOT_SET
    known = {p.name: KNOWN[p.name] for p in op.path_parameters}
    for name in known:
        for edge in EDGES:
            examples.append(op.Case(path_parameters={**known, name: edge}, body=body))
    for header in op.headers:  # the documented ones; credentials are the test's
        if header.name.lower() == "authorization":
            continue
        for edge in HEADER_EDGES:
            examples.append(op.Case(path_parameters=known, headers={header.name: edge}, body=body))


@schema.hook
def flatmap_body(context, body):
    """V1 rows: as generated, or cut or padded to iris' four features (any numbers)."""
    rows = body.get("instances") if isinstance(body, dict) else None
    if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
        return st.just(body)
    fitted = [(r + [0.0] * 4)[:4] for r in rows]
    return st.sampled_from([body, {**body, "instances": fitted}])


@pytest.fixture(scope="module")
def sent():
    """Requests sent, by (route role, credential, status class); checked once every operation
    has run (a run of some of them, with -k, checks no totals)."""
    counts: Counter = Counter()
    seen: Counter = Counter()  # requests per operation
    start = time.monotonic()
    yield counts, seen
    seconds = time.monotonic() - start
    total = sum(counts.values())
    print(f"\nschemathesis: {total} requests, {len(seen)} operations, {seconds:.1f} s")
    if set(seen) != OPERATIONS:
        return
    assert total >= MIN_CASES, f"only {total} requests were generated"
    for role in ("inference", "admin"):  # both sides of the credential check were exercised
        assert counts[(role, "none", "4xx")] and counts[(role, "admin", "2xx")], role
    assert counts[("inference", "inference", "2xx")], "no inference call succeeded"


@pytest.fixture(scope="module")
def app(tmp_path_factory, monkeypatch_module):
    tmp = tmp_path_factory.mktemp("fuzz")
    uri = f"sqlite:///{tmp / 'mlflow.db'}"
    art = xgboost_artifact(tmp / "a")
    for _ in range(2):
        registry.register(art, "iris", tracking_uri=uri)
    registry.approve("iris", 1, by="t", tracking_uri=uri)
    # A batch job is validated and recorded; the Ray actor that would run it is not started.
    monkeypatch_module.setattr("ray_apps.batch.background._launch", lambda *a, **k: None)
    core = EndpointCore(
        version=VERSION,
        key_digests=(digest(KEY),),
        admin_key_digests=(digest(ADMIN),),
        tracking_uri=uri,
        labels_root=str(tmp / "capture"),
        batch_storage=str(tmp / "runs"),
        home=str(tmp),
    )
    core.set_models({"iris": ServedModel("iris", 1, "Approved", load_model(art))})
    queue = AsyncInferenceSpec(store_url=f"sqlite:///{tmp / 'q.db'}", storage_path=str(tmp / "q"))
    core.async_front = AsyncFront(AsyncStore(queue, "fuzz"), callbacks_on=False)
    # The first explain call imports SHAP and builds the explainer (seconds on a busy box):
    # paid here, not by a request that must answer within the request timeout.
    asyncio.run(core.explanations.explain(core.models["iris"], np.array([[5.1, 3.5, 1.4, 0.2]])))
    served = asyncio.run(core.handle("GET", "/openapi.json", {}, _no_body, "rid"))
    assert served.payload == document(VERSION)  # what is fuzzed is what the endpoint serves
    return make_asgi(core, lambda: "")


async def _no_body() -> bytes:
    return b""


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as mp:
        yield mp


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_every_answer_is_documented_and_none_is_a_server_error(case, app, sent):
    counts, seen = sent
    # the credentials in turn, per operation (a failure's message and curl line name it)
    who = WHO[seen[case.operation.label] % len(WHO)]
    seen[case.operation.label] += 1
    response = case.call(app=app, headers=CREDENTIALS[who])
    status, sent_as = response.status_code, response.request
    # The route the request reached as sent. The coverage phase also sends other methods (405)
    # and its own Authorization headers (none, empty, malformed); a path parameter generated
    # empty or with a '/' makes the path another route's (POST /v2/models/infer: 405) or none's.
    route = routes.match(sent_as.method, unquote(urlsplit(sent_as.url).path))
    role = route.role if route is not None and route.name in routes.ROLES else "unrouted"
    key = credential(sent_as.headers.get("authorization"))
    counts[(role, key, f"{status // 100}xx")] += 1
    operation = (case.operation.method.upper(), case.operation.path)
    if route is not None and route.name == ROUTE_OF[operation]:
        case.validate_response(response, checks=CONFORMANCE, headers=CREDENTIALS[who])
    else:  # another route's answer (GET /v1/models for an empty name), or 404/405: no 500
        case.validate_response(response, checks=SERVER_ERROR)
    if (role == "inference" and key not in ("inference", "admin")) or (
        role == "admin" and key != "admin"
    ):
        assert status in (401, 403), (key, case.operation.label, status)


def credential(header: str | None) -> str:
    """Which credential an Authorization header carries: none, inference, admin or wrong."""
    for name, sent in CREDENTIALS.items():
        if header == sent.get("Authorization"):
            return name
    return "wrong"
