"""A multi-model endpoint's replica logic without Ray: EndpointCore over a ModelSetTable on a
real temporary MLflow registry holding 12 small models (XGBoost and torch, all Approved) and a
budget of 4 loaded models. What Serve adds (HTTP, two replicas, Ray's metrics export) is
tests/integration/serve/test_multi_model_endpoint.py's."""

from __future__ import annotations

import asyncio
import hashlib
import json

import numpy as np
import pytest
from _factories import torch_artifact, xgboost_artifact

from ray_apps import load_model, registry
from serve.endpoint import EndpointCore
from serve.multi_model import parse_model_set, read_listing
from serve.multi_model.cache_metrics import CacheMetrics
from serve.multi_model.table import ModelSetTable

N_MODELS = 12
ROWS = [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3], [5.9, 3.0, 4.2, 1.5]]
KEY, ADMIN_KEY, STORE_12_KEY, STORE_1X_KEY = "k", "boss", "k-store-12", "k-store-1x"


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _auth(key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {key}"}


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """store-1 … store-12 Approved (odd: XGBoost of 2… rounds, even: torch MLPs of 4… hidden
    units, so every model answers differently), other-1 Approved outside the set; returns the
    tracking URI and {name: the artifact folder}."""
    root = tmp_path_factory.mktemp("store")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    arts = {}
    for i in range(1, N_MODELS + 1):
        name = f"store-{i}"
        path = root / name
        arts[name] = (
            xgboost_artifact(path, rounds=1 + i, seed=i)
            if i % 2
            else torch_artifact(path, hidden=3 + i)
        )
    arts["other-1"] = xgboost_artifact(root / "other-1", rounds=2)
    for name, art in arts.items():
        mv = registry.register(art, name, tracking_uri=uri)
        registry.approve(name, mv.version, by="tests", tracking_uri=uri)
    return uri, arts


class _Requests:
    """Stands in for serve.metrics.EndpointMetrics: the tags of each observed request."""

    def __init__(self):
        self.seen: list[dict[str, str]] = []

    def observe(self, model, version, route, code, ms, variant=None):
        self.seen.append({"model": model, "version": version, "route": route, "code": str(code)})


def _core(uri: str, budget: dict, load=None, **spec) -> EndpointCore:
    table = ModelSetTable(parse_model_set({"prefix": "store-", **budget, **spec}), uri, load=load)
    core = EndpointCore(
        key_digests=tuple(_digest(k) for k in (KEY, STORE_12_KEY, STORE_1X_KEY)),
        admin_key_digests=(_digest(ADMIN_KEY),),
        key_scopes={_digest(STORE_12_KEY): ("store-12",), _digest(STORE_1X_KEY): ("store-1*",)},
        tracking_uri=uri,
        metrics=_Requests(),
    )
    core.use_model_set(table)
    table.start()
    return core


@pytest.fixture()
def core(store):
    c = _core(store[0], {"max_models": 4})
    yield c
    c.table.close()


async def _handle(core, method, path, body=b"", key=KEY, read=None):
    async def read_body():
        if read is not None:
            read.append(path)
        return body

    headers = {"content-length": str(len(body)), **(_auth(key) if key else {})}
    reply = await core.handle(method, path, headers, read_body, "rid")
    json.dumps(reply.payload)
    return reply


def call(core, method, path, body=b"", key=KEY, read=None):
    return asyncio.run(_handle(core, method, path, body, key, read))


def v1(name: str) -> tuple[str, bytes]:
    return f"/v1/models/{name}:predict", json.dumps({"instances": ROWS}).encode()


def v2(name: str, version: str | None = None) -> tuple[str, bytes]:
    pinned = f"/versions/{version}" if version else ""
    tensor = {"name": "input-0", "shape": [len(ROWS), 4], "datatype": "FP64", "data": ROWS}
    return f"/v2/models/{name}{pinned}/infer", json.dumps({"inputs": [tensor]}).encode()


def test_every_model_answers_as_load_model_predicts_within_a_budget_of_four(core, store):
    _, arts = store
    for i in range(1, N_MODELS + 1):
        name = f"store-{i}"
        expected = load_model(arts[name])
        r1 = call(core, "POST", *v1(name))
        r2 = call(core, "POST", *v2(name, "1"))
        assert r1.status == r2.status == 200, (r1.payload, r2.payload)
        assert (r1.payload["model_name"], r1.payload["model_version"]) == (name, "1")
        assert r1.payload["predictions"] == expected.predict(ROWS).tolist()
        assert np.allclose(r1.payload["probabilities"], expected.predict_proba(ROWS))
        out = {o["name"]: o["data"] for o in r2.payload["outputs"]}
        assert out["predict"] == expected.predict(ROWS).tolist()
        assert len(core.table.cache.loaded()) <= 4
    snap = core.table.cache.snapshot()
    totals = snap["totals"]
    assert snap["loaded_models"] == 4 and list(core.table.cache.loaded()) == [
        "store-9",
        "store-10",
        "store-11",
        "store-12",
    ]
    assert (totals["loads"], totals["misses"], totals["hits"]) == (12, 12, 12)
    assert totals["evictions"] == 8  # 12 loaded one after the other, 4 kept
    # least recently used goes first: store-9 is used, so store-1 evicts store-10
    assert call(core, "POST", *v1("store-9")).status == 200
    assert call(core, "POST", *v1("store-1")).status == 200
    assert list(core.table.cache.loaded()) == ["store-11", "store-12", "store-9", "store-1"]
    assert core.table.cache.snapshot()["totals"]["evictions"] == 9


def test_concurrent_first_calls_load_once(core):
    async def many():
        return await asyncio.gather(*(_handle(core, "POST", *v1("store-5")) for _ in range(8)))

    replies = asyncio.run(many())
    assert [r.status for r in replies] == [200] * 8
    rows = [r for r in core.table.cache.snapshot()["models"] if r["model"] == "store-5"]
    assert rows[0]["loads"] == 1 and rows[0]["misses"] + rows[0]["hits"] == 8


def test_a_model_outside_the_set_or_not_approved_is_404_naming_why(core, store):
    r = call(core, "POST", *v1("other-1"))
    assert r.status == 404 and "names start with 'store-'" in r.payload["error"]
    r = call(core, "POST", *v1("store-99"))
    assert r.status == 404 and "raymaker registry approve store-99:<version>" in r.payload["error"]
    r = call(core, "POST", *v2("store-3", "2"))
    assert r.status == 404 and "serves store-3:1" in r.payload["error"]
    assert core.table.cache.loaded() == {}  # nothing loaded for any of them


def test_newly_approved_answers_after_a_registry_check_and_rejected_stops(core, store):
    uri, arts = store
    mv = registry.register(arts["store-1"], "store-50", tracking_uri=uri)
    core.table.refresh(read_listing(uri))
    assert call(core, "POST", *v1("store-50")).status == 404  # Pending: not servable
    registry.approve("store-50", mv.version, by="tests", tracking_uri=uri)
    assert call(core, "POST", *v1("store-50")).status == 404  # until the replica re-reads
    change = core.table.refresh(read_listing(uri))
    assert change.added == ["store-50"]
    assert call(core, "POST", *v1("store-50")).status == 200  # no rebuild, no redeploy

    registry.reject("store-50", mv.version, by="tests", reason="drift", tracking_uri=uri)
    assert call(core, "POST", *v1("store-50")).status == 200  # still, until the next check
    change = core.table.refresh(read_listing(uri))
    assert (change.removed, change.unloaded) == (["store-50"], ["store-50"])
    r = call(core, "POST", *v1("store-50"))
    assert r.status == 404 and "not an Approved model" in r.payload["error"]
    row = next(r for r in core.table.cache.snapshot()["models"] if r["model"] == "store-50")
    assert (row["loads"], row["unloads"], row["loaded"]) == (1, 1, False)


def test_a_newer_approved_version_replaces_the_loaded_one(core, store):
    uri, arts = store
    registry.register(arts["store-1"], "store-51", tracking_uri=uri)
    registry.approve("store-51", 1, by="tests", tracking_uri=uri)
    core.table.refresh(read_listing(uri))
    assert call(core, "POST", *v1("store-51")).payload["model_version"] == "1"
    registry.register(arts["store-3"], "store-51", tracking_uri=uri)
    registry.approve("store-51", 2, by="tests", tracking_uri=uri)
    assert core.table.refresh(read_listing(uri)).unloaded == ["store-51"]
    r = call(core, "POST", *v1("store-51"))
    assert r.status == 200 and r.payload["model_version"] == "2"
    assert r.payload["predictions"] == load_model(arts["store-3"]).predict(ROWS).tolist()


def test_a_scoped_key_calls_its_models_only_and_is_refused_before_the_body_is_read(core):
    read: list[str] = []
    assert call(core, "POST", *v1("store-12"), key=STORE_12_KEY).status == 200
    r = call(core, "POST", *v1("store-11"), key=STORE_12_KEY, read=read)
    assert r.status == 403 and "may not call model 'store-11'" in r.payload["error"] and not read
    assert call(core, "GET", "/v2/models/store-11/ready", key=STORE_12_KEY).status == 403
    assert call(core, "POST", *v2("store-10"), key=STORE_1X_KEY).status == 200
    assert call(core, "POST", *v2("store-2"), key=STORE_1X_KEY).status == 403
    assert call(core, "POST", *v1("store-2"), key=KEY).status == 200  # unscoped: every model
    assert call(core, "POST", *v1("store-2"), key=ADMIN_KEY).status == 200  # admin: unaffected
    assert call(core, "POST", *v1("store-2"), key="guess").status == 403
    assert call(core, "POST", *v1("store-2"), key=None).status == 401


def test_a_model_above_the_byte_budget_is_507_naming_the_setting_and_not_reloaded(store):
    from serve.multi_model.table import load_version

    loads = []

    def load(name, version):
        loads.append(name)
        return load_version(name, version, store[0])

    core = _core(store[0], {"max_model_bytes": 1000}, load=load)
    try:
        for _ in range(2):
            r = call(core, "POST", *v1("store-1"))
            assert r.status == 507, r.payload
            assert "models.max_model_bytes = 1,000" in r.payload["error"]
        assert loads == ["store-1"]  # measured once, then refused from memory
        row = core.table.cache.snapshot()["models"][0]
        assert (row["model"], row["loads"], row["refused"]) == ("store-1", 0, 2)
        seen = core.metrics.seen[-1]
        assert (seen["model"], seen["version"], seen["code"]) == ("store-1", "1", "507")
    finally:
        core.table.close()


def test_metadata_ready_and_listing_answer_from_the_registry_without_loading(core, store):
    r = call(core, "GET", "/v2/models/store-7/ready")
    assert r.status == 200 and r.payload == {"name": "store-7", "version": "1", "ready": True}
    r = call(core, "GET", "/v1/models/store-7")
    assert r.payload["ready"] is True and r.payload["registry_status"] == "Approved"
    assert call(core, "GET", "/v2/models/store-99/ready").status == 404
    models = call(core, "GET", "/v1/models").payload["models"]
    assert {f"store-{i}" for i in range(1, N_MODELS + 1)} <= set(models)
    assert "other-1" not in models
    assert call(core, "GET", "/v2/health/ready", key=None).status == 200
    assert core.table.cache.loaded() == {}
    meta = call(core, "GET", "/v2/models/store-7").payload  # features are the artifact's
    assert meta["versions"] == ["1"] and meta["inputs"][0]["shape"] == [-1, 4]
    assert meta["platform"] == "raymaker-xgboost"
    assert core.table.cache.loaded() == {"store-7": 1}


def test_the_admin_cache_route_shows_this_replicas_cache(core):
    call(core, "POST", *v1("store-4"))
    assert call(core, "GET", "/admin/models", key=KEY).status == 403  # an inference key
    snap = call(core, "GET", "/admin/models", key=ADMIN_KEY).payload
    assert snap["model_set"] == "prefix 'store-'" and snap["servable"] >= N_MODELS
    assert snap["loaded_models"] == 1 and snap["max_models"] == 4 and snap["replica"]


def test_prewarm_loads_at_start(store):
    core = _core(store[0], {"max_models": 4}, prewarm=["store-2", "store-3"])
    try:
        assert core.table.cache.loaded() == {"store-2": 1, "store-3": 1}
        assert core.table.cache.snapshot()["totals"]["misses"] == 0  # not requests
    finally:
        core.table.close()


class _Recorder:
    """Stands in for ray.serve.metrics: what each metric was given, by name."""

    def __init__(self):
        self.calls: list[tuple[str, str, float, dict[str, str]]] = []
        recorder = self

        class _Metric:
            def __init__(self, name, description="", tag_keys=()):
                self.name, self.tag_keys = name, tuple(tag_keys)

            def inc(self, value=1.0, tags=None):
                assert set(tags or {}) == set(self.tag_keys)
                recorder.calls.append((self.name, "inc", value, dict(tags or {})))

            def set(self, value, tags=None):
                assert set(tags or {}) == set(self.tag_keys)
                recorder.calls.append((self.name, "set", value, dict(tags or {})))

        self.Counter = self.Gauge = _Metric

    def last(self, name: str, model: str) -> float:
        values = [v for n, _, v, t in self.calls if n == name and t.get("model") == model]
        return values[-1]

    def total(self, name: str, model: str) -> float:
        return sum(v for n, op, v, t in self.calls if n == name and t.get("model") == model)


def test_cache_and_request_metrics_carry_model_and_version(core):
    recorder = _Recorder()
    metrics = CacheMetrics(recorder)
    for i in range(1, 6):  # store-1 is evicted by store-5
        call(core, "POST", *v1(f"store-{i}"))
    call(core, "POST", *v1("store-5"))
    metrics.publish(core.table.cache.snapshot())
    metrics.publish(core.table.cache.snapshot())  # nothing new: counters do not grow again
    assert recorder.total("raymaker_model_evictions", "store-1") == 1
    assert recorder.total("raymaker_model_loads", "store-5") == 1
    assert recorder.total("raymaker_model_cache_hits", "store-5") == 1
    assert recorder.total("raymaker_model_load_seconds", "store-5") > 0
    assert recorder.last("raymaker_model_loaded", "store-1") == 0.0
    assert recorder.last("raymaker_model_loaded", "store-5") == 1.0
    assert recorder.last("raymaker_model_loaded_bytes", "store-5") > 1000
    tagged = {tuple(sorted(t)) for n, _, _, t in recorder.calls if n.startswith("raymaker_model_")}
    assert ("model", "version") in tagged
    budget = [v for n, _, v, _ in recorder.calls if n == "raymaker_model_cache_budget_models"]
    assert budget[-1] == 4
    seen = core.metrics.seen[-1]  # the request metrics name the model and version that answered
    assert (seen["model"], seen["version"], seen["route"], seen["code"]) == (
        "store-5",
        "1",
        "v1_predict",
        "200",
    )


def test_capture_records_name_the_model_and_version_that_answered(store, tmp_path):
    from ray_apps import read_capture
    from serve.capture import CaptureWriter

    core = _core(store[0], {"max_models": 2})
    core.capture = CaptureWriter(tmp_path / "capture", 100)
    try:
        for name in ("store-3", "store-4", "store-3"):
            assert call(core, "POST", *v1(name)).status == 200
    finally:
        core.capture.close()
        core.table.close()
    three = read_capture(tmp_path / "capture", "store-3")
    four = read_capture(tmp_path / "capture", "store-4", version=1)
    assert len(three) == 2 * len(ROWS) and len(four) == len(ROWS)
    assert set(three["model"]) == {"store-3"} and set(three["version"]) == {"1"}
    assert set(four["model"]) == {"store-4"} and set(four["version"]) == {"1"}
