"""A multi-model endpoint on real Serve HTTP: 52 small registered models (XGBoost and torch,
mixed) behind one endpoint of 2 replicas that hold at most 10 each. Every model answers as
``load_model(...).predict`` does in-process; eviction happens and is counted (each replica's
GET /admin/models, and Ray's Prometheus export); concurrent first calls load once per replica;
a model approved after the deploy answers without a redeploy and a rejected one stops; a
scoped key is refused on another model; tritonclient works against it; a drift monitor reads one
model's captured window exactly as on a single-model endpoint.

One deployment serves every test (module fixture): models are built in-process in about a
second (XGBoost: a few rounds on iris; torch: seeded MLPs of tests/_factories), registered in
the session's embedded registry, and the endpoint is removed at the end. Run it alone:

    .venv/bin/python -m pytest -q -p no:cacheprovider --durations=10 \
        tests/integration/serve/test_multi_model_endpoint.py
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import httpx
import numpy as np
import pytest
from _factories import torch_artifact, xgboost_artifact
from _serve_helpers import KEY, PORT, wait_for

from ray_apps import load_model, read_capture, registry
from ray_apps.data import load_dataset
from ray_apps.errors import NotFoundError
from ray_apps.spec import DatasetSpec, SplitSpec
from serve import deploy, undeploy

N_MODELS = 50  # Approved at deploy: mm-1 … mm-50
LATE, FRESH = "mm-51", "mm-52"  # Pending at deploy / Approved but never called before its test
APP, PREFIX, BUDGET = "mm-ep", "/mm", 10
ROWS = [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3], [5.9, 3.0, 4.2, 1.5]]
ADMIN_KEY, SCOPED_KEY = "admin-key-mm-0123456789", "scoped-key-mm-0123456789"
AUTH = {"Authorization": f"Bearer {KEY}"}
ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}
SCOPED = {"Authorization": f"Bearer {SCOPED_KEY}"}


def _artifact(root, i: int):
    if i % 2:
        return xgboost_artifact(root / f"mm-{i}", rounds=1 + i % 7, seed=i)
    return torch_artifact(root / f"mm-{i}", hidden=2 + i)


@pytest.fixture(scope="module")
def capture_root(tmp_path_factory):
    """Where the endpoint captures every request (100 %), per model and version."""
    return tmp_path_factory.mktemp("multi_model_capture")


@pytest.fixture(scope="module")
def mm(serve_instance, tmp_path_factory, capture_root):
    """The deployed endpoint's client and {model: its artifact}; mm-51 is still Pending."""
    root = tmp_path_factory.mktemp("multi_model")
    arts = {f"mm-{i}": _artifact(root, i) for i in range(1, N_MODELS + 3)}
    for name, art in arts.items():
        mv = registry.register(art, name)
        if name != LATE:
            registry.approve(name, mv.version, by="tests", reason="fixture")
    spec = {
        "name": APP,
        "route_prefix": PREFIX,
        "models": {"prefix": "mm-", "max_models": BUDGET},
        "autoscaling": {"min_replicas": 2, "max_replicas": 2},
        "num_cpus": 0.25,
        "registry_check_interval_s": 1,
        "capture": {"percent": 100, "path": str(capture_root), "flush_interval_s": 0.2},
        "auth": {
            "api_key_envs": ["RAYMAKER_TEST_KEYS"],
            "scoped_key_envs": {"RAYMAKER_TEST_MM_SCOPED": ["mm-1*"]},
            "admin_key_envs": ["RAYMAKER_TEST_MM_ADMIN"],
        },
    }
    with pytest.MonkeyPatch.context() as env:  # read here, at deploy: replicas get digests
        env.setenv("RAYMAKER_TEST_MM_SCOPED", SCOPED_KEY)
        env.setenv("RAYMAKER_TEST_MM_ADMIN", ADMIN_KEY)
        deploy(spec, port=PORT)
    with httpx.Client(base_url=f"{serve_instance}{PREFIX}", timeout=60) as client:
        yield client, arts
    undeploy(APP)


def _predict(client, name: str, headers=AUTH) -> httpx.Response:
    return client.post(f"/v1/models/{name}:predict", headers=headers, json={"instances": ROWS})


def _check(response: httpx.Response, name: str, art) -> None:
    assert response.status_code == 200, (name, response.text)
    body, expected = response.json(), load_model(art)
    assert (body["model_name"], body["model_version"]) == (name, "1")
    assert body["predictions"] == expected.predict(ROWS).tolist(), name
    assert np.allclose(body["probabilities"], expected.predict_proba(ROWS)), name


def _caches(client) -> dict[str, dict]:
    """{replica: its model cache}, once both replicas answered GET /admin/models."""
    seen: dict[str, dict] = {}

    def both() -> bool:
        snap = client.get("/admin/models", headers=ADMIN).json()
        seen[snap["replica"]] = snap
        return len(seen) == 2

    wait_for(both, 30, "GET /admin/models answered by both replicas", interval_s=0.02)
    return seen


def _rows(caches: dict[str, dict], model: str) -> list[dict]:
    return [r for snap in caches.values() for r in snap["models"] if r["model"] == model]


def test_every_model_answers_as_load_model_predicts_and_eviction_is_counted(mm):
    client, arts = mm
    for i in range(1, N_MODELS + 1):
        _check(_predict(client, f"mm-{i}"), f"mm-{i}", arts[f"mm-{i}"])
    caches = _caches(client)
    for snap in caches.values():
        assert snap["loaded_models"] <= BUDGET and snap["servable"] >= N_MODELS
    loads = sum(s["totals"]["loads"] for s in caches.values())
    evictions = sum(s["totals"]["evictions"] for s in caches.values())
    assert loads >= N_MODELS  # each model loaded somewhere; 2 replicas hold 20 at most
    assert evictions >= loads - 2 * BUDGET > 0
    assert sum(s["totals"]["load_errors"] for s in caches.values()) == 0


def test_concurrent_first_calls_load_once_per_replica(mm):
    client, arts = mm

    def first_call(_) -> httpx.Response:  # a client per thread, all at once
        with httpx.Client(base_url=client.base_url, timeout=60) as own:
            return _predict(own, FRESH)

    with ThreadPoolExecutor(16) as pool:
        replies = list(pool.map(first_call, range(16)))
    for r in replies:
        _check(r, FRESH, arts[FRESH])
    rows = _rows(_caches(client), FRESH)
    loads = [r["loads"] for r in rows]  # one row per replica that saw the model
    assert sum(loads) >= 1, rows  # it was loaded…
    assert max(loads) == 1, rows  # …once on each replica that answered, not once per call
    assert sum(r["hits"] + r["misses"] for r in rows) == 16


def test_a_model_approved_after_the_deploy_answers_without_a_redeploy(mm):
    client, arts = mm
    r = _predict(client, LATE)
    assert r.status_code == 404 and "not an Approved model" in r.json()["error"]
    registry.approve(LATE, 1, by="tests", reason="late")

    def answered() -> list[httpx.Response]:  # from a replica that re-read the registry
        r = _predict(client, LATE)
        return [r] if r.status_code == 200 else []

    (r,) = wait_for(answered, 30, f"{LATE} to answer after its approval")
    _check(r, LATE, arts[LATE])


def test_a_rejected_model_stops_within_the_check_interval(mm):
    client, arts = mm
    name = f"mm-{N_MODELS}"
    _check(_predict(client, name), name, arts[name])
    registry.reject(name, 1, by="tests", reason="drift")

    def stopped() -> bool:  # on both replicas: several calls in a row are refused
        return all(_predict(client, name).status_code == 404 for _ in range(6))

    wait_for(stopped, 30, f"{name} to be refused on every replica")
    # A replica that re-read the registry says it is not in the set; one whose listing is a
    # check older, asked to load it again, is refused by the registry's own status check.
    error = _predict(client, name).json()["error"]
    assert "not an Approved model" in error or f"{name}:1 is Rejected" in error, error


def test_a_scoped_key_calls_its_models_only(mm):
    client, arts = mm
    _check(_predict(client, "mm-12", SCOPED), "mm-12", arts["mm-12"])
    r = _predict(client, "mm-3", SCOPED)
    assert r.status_code == 403 and "may not call model 'mm-3'" in r.json()["error"]
    assert client.get("/v2/models/mm-3/ready", headers=SCOPED).status_code == 403
    assert client.get("/admin/models", headers=SCOPED).status_code == 403


def test_tritonclient_works_against_a_multi_model_endpoint(mm, serve_instance):
    import tritonclient.http as httpclient

    _, arts = mm
    url = f"{serve_instance.removeprefix('http://')}{PREFIX}"
    triton = httpclient.InferenceServerClient(url=url)
    assert triton.is_server_live() and triton.is_server_ready()
    for name in ("mm-7", "mm-8"):  # XGBoost, torch
        assert triton.is_model_ready(name, headers=AUTH)
        assert triton.get_model_metadata(name, headers=AUTH)["versions"] == ["1"]
        inp = httpclient.InferInput("input-0", [len(ROWS), 4], "FP32")
        inp.set_data_from_numpy(np.asarray(ROWS, np.float32), binary_data=True)
        # a copy: tritonclient writes Inference-Header-Content-Length (an int) into the dict
        # it is given, which broke every later request of this module that sent AUTH
        result = triton.infer(name, [inp], headers=dict(AUTH))
        expected = load_model(arts[name])
        assert result.as_numpy("predict").tolist() == expected.predict(ROWS).tolist()
        assert np.allclose(result.as_numpy("probabilities"), expected.predict_proba(ROWS))
    assert not triton.is_model_ready("mm-999", headers=AUTH)


def _exported(metric: str) -> dict[tuple[str, str], float]:
    """{(model, version): value} of ``metric`` in this node's Prometheus export, summed over
    replicas (each is a series of its own)."""
    import ray

    port = ray._private.worker.global_worker.node.metrics_export_port
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    out: dict[tuple[str, str], float] = {}
    for labels, value in re.findall(rf"^ray_{metric}(?:_total)?\{{([^}}]*)\}} (\S+)$", text, re.M):
        tags = dict(re.findall(r'(\w+)="([^"]*)"', labels))
        key = (tags.get("model", "-"), tags.get("version", "-"))
        out[key] = out.get(key, 0.0) + float(value)
    return out


def test_prometheus_metrics_carry_model_and_version(mm):
    client, _ = mm

    def evictions_exported() -> dict:  # replicas publish on each 5 s health check
        values = _exported("raymaker_model_evictions")
        return values if sum(values.values()) > 0 else {}

    evicted = wait_for(evictions_exported, 60, "ray_raymaker_model_evictions_total > 0")
    assert all(model.startswith("mm-") and version == "1" for model, version in evicted)
    wait_for(  # each replica's series is exported on its own schedule
        lambda: sum(_exported("raymaker_model_loads").values()) >= N_MODELS,
        60,
        f"ray_raymaker_model_loads_total to sum to {N_MODELS}+ over both replicas",
    )
    requests = wait_for(lambda: _exported("raymaker_requests"), 30, "requests exported")
    assert ("mm-12", "1") in requests  # request metrics name the model and version too


def test_a_drift_monitor_reads_one_model_of_the_set_as_on_a_single_model_endpoint(mm, capture_root):
    """Shifted rows to one model, steady rows to two others in the same minutes: the monitor
    of that model's version flags the shifted columns only, over its own requests only."""
    from ray_apps.monitoring import run_monitor

    client, _ = mm
    watched, others = "mm-3", ("mm-4", "mm-5")  # XGBoost (trained on the seed-3 split), torch
    data = load_dataset(DatasetSpec(source="sklearn:iris", split=SplitSpec(seed=3)))
    baseline = data.train[data.feature_names]  # what mm-3's artifact keeps as its reference
    moved = ["sepal_length_cm", "petal_width_cm"]
    shifted = baseline.copy()
    shifted[moved] += 2 * baseline[moved].std()
    since = datetime.now(UTC)
    ids: dict[str, set[str]] = {watched: set(), **{o: set() for o in others}}
    for chunk in np.array_split(np.arange(len(baseline)), 3):  # the models' requests interleave
        for name, frame in ((watched, shifted), *((o, baseline) for o in others)):
            rows = frame.iloc[chunk].to_numpy().tolist()
            r = client.post(f"/v1/models/{name}:predict", headers=AUTH, json={"instances": rows})
            assert r.status_code == 200, r.text
            ids[name].add(r.headers["x-request-id"])

    def window():  # every request of the three models flushed to the capture
        until = datetime.now(UTC)
        try:
            got = {n: read_capture(capture_root, n, 1, since, until) for n in ids}
        except NotFoundError:  # a model's first file not flushed yet
            return None
        return until if all(set(got[n].request_id) == ids[n] for n in ids) else None

    until = wait_for(window, 30, "the three models' requests in the capture")
    result = run_monitor(
        {
            "model": f"{watched}:1",
            "current": {"capture": str(capture_root), "since": since, "until": until},
            "html": False,
            "output": str(capture_root.parent / "monitor"),
        }
    )
    summary = result.summary
    assert (summary.model, summary.version) == (watched, "1")
    assert summary.rows == len(baseline)  # mm-3's rows only: the others' are in their folders
    assert sorted(summary.drifted_columns) == sorted(moved), summary.columns
    assert result.verdict.status == "violation", result.line
    flagged = {v.column for v in result.verdict.violations if v.kind == "column_drift"}
    assert flagged == set(moved), result.verdict.violations
    window_ids = set(read_capture(capture_root, watched, 1, since, until).request_id)
    assert window_ids == ids[watched] and not window_ids & (ids["mm-4"] | ids["mm-5"])
