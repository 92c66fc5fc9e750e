"""An endpoint's page from state the serving code wrote, without Ray: the traffic table a deploy
records (``_recorded_deploy``: ``plan`` + ``record_traffic``, what ``deploy`` does once Serve
runs the applications), the statistics replicas report (``StatsAccumulator`` →
``TrafficStore.add_stats``), answers captured by the endpoints' capture writer
(``serve.capture.CaptureWriter``) with labels posted as the labels route stores them
(``write_labels``), a rollout started and ticked by its controller (``start_rollout`` /
``run_rollout``, its deploys Ray-free), and Ray's Prometheus text (our metrics and Serve's
replica gauge) from a real HTTP server."""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from _console import ENV, log_in
from _endpoint_traffic import EndpointTraffic, serving
from _factories import xgboost_artifact
from _recorded_deploy import deploy_without_ray, deploying_without_ray
from starlette.testclient import TestClient

from console import ConsoleSettings, create_app
from ray_apps import load_model, registry
from ray_apps.capture import write_labels
from ray_apps.capture.labels import label_text
from ray_apps.data import load_dataset
from ray_apps.prediction import from_scores
from ray_apps.spec import DatasetSpec
from serve.capture import CaptureWriter
from serve.traffic.stats import StatsAccumulator
from serve.traffic.store import TrafficStore

MODEL = "cancer"


@pytest.fixture(scope="module")
def registered(tmp_path_factory) -> tuple[Path, Path]:
    """A registry with cancer:1 and :2 Approved, :3 Pending (one real XGBoost artifact)."""
    folder = tmp_path_factory.mktemp("endpoint_registry")
    art = xgboost_artifact(folder / "art", source="sklearn:breast_cancer", scored=True)
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    for version in (1, 2, 3):
        registry.register(art, MODEL, tracking_uri=uri)
        if version < 3:
            registry.approve(MODEL, version, by="tests", reason="fixture", tracking_uri=uri)
    return folder / "mlflow.db", art


@pytest.fixture()
def places(registered, tmp_path) -> dict[str, str]:
    db, _ = registered
    shutil.copy(db, tmp_path / "mlflow.db")
    return {
        "tracking_uri": f"sqlite:///{tmp_path / 'mlflow.db'}",
        "traffic_store_url": f"sqlite:///{tmp_path / 'traffic.db'}",
        "capture": str(tmp_path / "capture"),
        "monitor_root": str(tmp_path / "monitor"),
    }


def client_for(places: dict[str, str], clock=time.time, metrics_urls=()) -> TestClient:
    settings = ConsoleSettings(
        tracking_uri=places["tracking_uri"],
        traffic_store_url=places["traffic_store_url"],
        monitor_root=places["monitor_root"],
        metrics_urls=tuple(metrics_urls),
    )
    client = TestClient(create_app(settings, environ=ENV, clock=clock), follow_redirects=False)
    assert log_in(client, ENV["RAYMAKER_VIEWER_KEYS"]).status_code == 303
    return client


def cells(html: str, row: str) -> dict[str, str]:
    """The cells of the first ``<tr {row}>`` by class, tags stripped."""
    start = html.index(f"<tr {row}")
    body = html[start : html.index("</tr>", start)]
    found = re.findall(r'<td class="([^"]+)">(.*?)</td>', body, re.S)
    return {cls: re.sub(r"<[^>]+>", "", text).strip() for cls, text in found}


def g3(value: float) -> str:
    return f"{value:.3g}"


# -- variants, their statistics and the metrics --------------------------------------------------
AB_SPEC = {
    "name": "ab-ep",
    "variants": [
        {"name": "prod", "model": "cancer:1", "weight": 90},
        {"name": "cand", "model": "cancer:2", "weight": 10, "replicas": "own"},
        {"name": "shady", "model": "cancer:3", "weight": 0, "force": True, "replicas": "own"},
    ],
    "shadow": {"variant": "shady", "percent": 50},
}


def test_variants_show_weights_replicas_and_the_replicas_reports(places):
    spec = {**AB_SPEC, **_wiring(places)}
    deploy_without_ray(spec)
    store = TrafficStore(places["traffic_store_url"])
    now = time.time()
    reported = StatsAccumulator()  # what one replica's router observed, as it reports it
    for i in range(90):
        reported.observe("prod", 503 if i < 2 else 400 if i == 2 else 200, 2.0 + i % 7)
    for _ in range(10):
        reported.observe("cand", 200, 20.0)
    interval = reported.take()
    store.add_stats("ab-ep", "replica-a", now - 5, interval)
    old = StatsAccumulator()
    old.observe("prod", 500, 1.0)
    store.add_stats("ab-ep", "replica-a", now - 3600, old.take())  # outside the 5 minutes

    traffic = EndpointTraffic()
    for i in range(6):
        traffic.call("ab-ep", MODEL, "1", 3, variant="prod", replica=f"r{i % 2}")
    traffic.call("ab-ep", MODEL, "2", 30, code=500, variant="cand")
    traffic.replicas("ab-ep", 2)
    traffic.replicas("ab-ep--cand", 1)
    traffic.replicas("ab-ep--shady", 1, unhealthy=1)
    with serving(traffic) as url:
        client = client_for(places, metrics_urls=[url])
        index = client.get("/endpoints").text
        detail = client.get("/endpoints/ab-ep").text

    section = index[index.index('data-endpoint="ab-ep"') :]
    assert cells(section, 'data-variant="prod"') == {"share": "90 %", "replicas": "2"}
    assert cells(section, 'data-variant="shady"') == {
        "share": "shadow 50 % of requests",
        "replicas": "1",
    }
    assert 'href="/endpoints/ab-ep"' in index

    prod, cand = (cells(detail, f'data-variant="{v}"') for v in ("prod", "cand"))
    want = interval["prod"]
    assert (prod["weight"], prod["share"], prod["replicas"]) == ("90", "90 %", "2")
    assert (prod["requests"], prod["error-5xx"], prod["error-4xx"]) == ("90", "2.2 %", "1.1 %")
    assert (prod["p50"], prod["p99"]) == (g3(want.quantile_ms(0.5)), g3(want.quantile_ms(0.99)))
    assert (prod["m-requests"], prod["m-error-rate"]) == ("6", "0.0 %")
    assert (cand["share"], cand["replicas"], cand["requests"]) == ("10 %", "1", "10")
    assert (cand["m-requests"], cand["m-error-rate"]) == ("1", "100.0 %")
    shady = cells(detail, 'data-variant="shady"')
    assert shady["share"] == "copies 50 %" and shady["requests"] == "0"


# -- the A/B readout and the shadow report, over real captured answers ----------------------------
def test_ab_readout_and_shadow_report_from_captured_answers(registered, places):
    _, art = registered
    spec = {**AB_SPEC, **_wiring(places)}
    deploy_without_ray(spec)
    answers = capture_answers(places["capture"], art)
    page = client_for(places).get("/endpoints/ab-ep").text

    for arm, (n, right) in answers.items():
        row = cells(page, f'data-arm="{arm}"')
        assert row["coverage"] == "100.0 %"
        assert row["value"] == f"{right / n:.4g}"
    assert 'data-candidate="cand"' in page  # cand − prod, the control first
    decision = cells(page, 'data-candidate="cand"')["decision"]
    assert decision == "no difference yet"  # one artifact behind both: nothing to find
    assert "Sample ratio against the weights" in page and "MISMATCH" not in page

    shadow = cells(page, 'data-window="1"')  # the shadow report's one window
    assert shadow["pairs"] == str(SHADOWED)
    assert shadow["flips"] == "0.0 %"  # the same model: no label flips

    # Before any label arrives the readout says why it has none.
    shutil.rmtree(Path(places["capture"]) / f"model={MODEL}" / "labels")
    assert "no labels posted for cancer" in client_for(places).get("/endpoints/ab-ep").text


SHADOWED = 85  # every other request is copied to the shadow


def capture_answers(root: str, art: Path) -> dict[str, tuple[int, int]]:
    """170 one-row requests answered (9 in 10 by prod, 1 in 10 by cand), every other one
    copied to the shadow, written by the endpoints' capture writer; their labels posted.
    Returns each arm's (rows, right answers)."""
    model = load_model(art)
    data = load_dataset(DatasetSpec(source="sklearn:breast_cancer"))
    rows = pd.concat([data.valid, data.test]).head(2 * SHADOWED)
    features = model.info.feature_names
    writer = CaptureWriter(root, 100.0, flush_interval_s=60)
    right: dict[str, list[bool]] = {"prod": [], "cand": []}
    ids, labels = [], []
    for i, (_, row) in enumerate(rows.iterrows()):
        x = row[features].to_numpy(dtype=float)[None, :]
        pred = from_scores(model.predict_matrix(x), "classification", model.info.classes)
        arm, version = ("cand", 2) if i % 10 == 0 else ("prod", 1)
        rid = f"req-{i}"
        common = {"request_id": rid, "model": MODEL, "protocol": "v1_predict", "status": 200}
        common |= {"features": features, "inputs": x, "prediction": pred}
        writer.add(**common, version=version, latency_ms=3.0, variant=arm)
        if i % 2 == 0:
            writer.add(**common, version=3, latency_ms=5.0, variant="shady", shadow=True)
        right[arm].append(label_text(pred.predictions[0]) == label_text(row[data.label]))
        ids.append(rid)
        labels.append(row[data.label])
    writer.close()
    write_labels(root, MODEL, ids, [0] * len(ids), labels)
    assert len(ids) == 2 * SHADOWED
    return {arm: (len(r), int(np.sum(r))) for arm, r in right.items()}


# -- a rollout: its state, its guardrails' readings, its decisions --------------------------------
def test_a_rollout_shows_its_step_its_guardrails_and_its_decisions(places, monkeypatch):
    from serve.rollout.controller import run_rollout, start_rollout

    deploying_without_ray(monkeypatch)  # the controller's deploys
    wiring = _wiring(places)
    deploy_without_ray({"name": "fair-ep", "models": [{"name": MODEL, "version": 1}], **wiring})
    store = TrafficStore(places["traffic_store_url"])
    t0 = time.time()
    start_rollout(
        {"endpoint": "fair-ep", "candidate": "cancer:2", "bake_s": 60,
         "guardrails": {"min_requests": 20}},
        store=store, now=t0,
    )  # fmt: skip
    reported = StatsAccumulator()
    for _ in range(200):
        reported.observe("stable", 200, 4.0)
    for i in range(20):
        reported.observe("candidate", 500 if i % 3 == 0 else 200, 4.0)  # 7 of 20: 35 % 5xx
    interval = reported.take()
    store.add_stats("fair-ep", "replica-a", t0 + 10, interval)

    running = client_for(places, clock=lambda: t0 + 30).get("/endpoints/fair-ep").text
    assert '<span class="alert running" id="rollout-status">running</span>' in running
    assert "1 of 2 (10 % to candidate, the rest to stable)" in running
    assert '<td id="rollout-next"><strong>rollback</strong>: rolled back cancer:2 at 10%' in running
    five = cells(running, 'data-reading="candidate 5xx rate"')
    assert five["value"] == "0.35" and five["limit"] == "≤ 0.01"
    assert float(five["bound"]) > 0.01 and five["bad state"] == "breached"
    needed = cells(running, 'data-reading="candidate requests"')
    assert (needed["value"], needed["limit"], needed["ok state"]) == ("20", "≥ 20", "met")
    bake = cells(running, 'data-reading="step elapsed s"')
    assert (bake["value"], bake["limit"], bake["muted state"]) == ("30", "≥ 60", "not yet")
    assert cells(running, 'data-variant="candidate"')["share"] == "10 %"
    assert cells(running, 'data-variant="candidate"')["requests"] == "20"

    final = run_rollout("fair-ep", store=store, clock=lambda: t0 + 31, sleep=lambda s: None)
    assert final["state"]["status"] == "rolled_back"
    page = client_for(places, clock=lambda: t0 + 40).get("/endpoints/fair-ep").text
    assert 'id="rollout-status">rolled_back<' in page and "(at the last decision)" in page
    assert cells(page, 'data-reading="candidate 5xx rate"')["bad state"] == "breached"
    assert 'id="rollout-next"' not in page
    assert [a for a in re.findall(r'data-action="(\w+)"', page)] == ["rollback", "advance"]
    assert "One version, no variants" in page  # the stable redeployed alone
    index = client_for(places).get("/endpoints").text
    assert 'data-rollout="rolled_back"' in index


def test_an_endpoint_that_is_nowhere_is_not_found(places):
    client = client_for(places)
    assert client.get("/endpoints/nothing-here").status_code == 404
    dots = client.get("/endpoints/%2E%2E")
    assert dots.status_code == 404 and "is one name, not a path" in dots.text


def test_without_a_traffic_store_nothing_is_created(places):
    client_for(places).get("/endpoints")
    assert not Path(places["traffic_store_url"].removeprefix("sqlite:///")).exists()


def _wiring(places: dict[str, str]) -> dict:
    return {
        "tracking_uri": places["tracking_uri"],
        "traffic_store_url": places["traffic_store_url"],
        "capture": {"percent": 100, "path": places["capture"]},
    }
