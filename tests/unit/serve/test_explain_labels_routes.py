"""The explain and labels routes of a replica, without Ray: answers, limits, validation."""

import asyncio
import hashlib
import json

import numpy as np
import pytest
from _factories import xgboost_artifact

from ray_apps.artifact import load_model
from ray_apps.data import load_dataset
from ray_apps.monitoring.labels import read_labels
from ray_apps.spec import DatasetSpec
from serve import routes
from serve.capture import CaptureWriter
from serve.endpoint import EndpointCore
from serve.served_model import ServedModel

KEY = "k"
AUTH = {"authorization": f"Bearer {KEY}"}


@pytest.fixture(scope="module")
def cancer(tmp_path_factory):
    art = xgboost_artifact(tmp_path_factory.mktemp("m") / "a", source="sklearn:breast_cancer")
    return ServedModel("cancer", 4, "Approved", load_model(art))


@pytest.fixture()
def core(cancer, tmp_path):
    c = EndpointCore(
        key_digests=(hashlib.sha256(KEY.encode()).hexdigest(),),
        max_explain_rows=4,
        labels_root=str(tmp_path / "capture"),
    )
    c.set_models({"cancer": cancer})
    return c


def call(core, path, doc, rid="rid"):
    body = doc if isinstance(doc, bytes) else json.dumps(doc).encode()

    async def read_body():
        return body

    headers = {**AUTH, "content-length": str(len(body))}
    return asyncio.run(core.handle("POST", path, headers, read_body, rid))


def rows(cancer, n):
    test = load_dataset(DatasetSpec(source="sklearn:breast_cancer")).test
    return test[cancer.features].to_numpy()[:n]


def test_routes_are_inference_role():
    for path, name in [
        ("/v1/models/m:explain", "v1_explain"),
        ("/v2/models/m/explain", "v2_explain"),
        ("/v2/models/m/versions/3/explain", "v2_explain"),
        ("/v1/models/m/labels", "labels"),
    ]:
        route = routes.match("POST", path)
        assert (route.name, route.role) == (name, "inference")
    assert routes.match("GET", "/v1/models/m/labels").name == "method_not_allowed"


def test_v1_two_classes_one_map_per_row_adding_up(core, cancer):
    x = rows(cancer, 3)
    reply = call(core, "/v1/models/cancer:explain", {"instances": x.tolist()})
    assert reply.status == 200, reply.payload
    body = reply.payload
    assert body["output"] == "log-odds(1)" and body["margin_kind"] == "log-odds"
    assert list(body["explanations"][0]) == cancer.features
    sums = [sum(row.values()) for row in body["explanations"]]
    assert np.allclose(np.add(sums, body["expected_value"]), body["margins"], atol=1e-4)
    assert body["predictions"] == cancer.predict(x).predictions.tolist()


def test_too_many_rows_and_unknown_outputs(core, cancer):
    reply = call(core, "/v1/models/cancer:explain", {"instances": rows(cancer, 5).tolist()})
    assert reply.status == 413 and "at most 4 rows" in reply.payload["error"]
    tensor = {
        "name": "x",
        "shape": [1, 30],
        "datatype": "FP64",
        "data": rows(cancer, 1)[0].tolist(),
    }
    reply = call(
        core,
        "/v2/models/cancer/explain",
        {"inputs": [tensor], "outputs": [{"name": "probabilities"}]},
    )
    assert reply.status == 400 and "'shap_values'" in reply.payload["error"]


def test_labels_one_or_many_checked_against_the_classes(core, tmp_path):
    one = call(core, "/v1/models/cancer/labels", {"request_id": "a", "label": 1})
    assert one.status == 200 and one.payload["accepted"] == 1
    many = call(
        core, "/v1/models/cancer/labels", {"labels": [{"request_id": "b", "row": 1, "label": "0"}]}
    )
    assert many.status == 200
    frame = read_labels(str(tmp_path / "capture" / "model=cancer" / "labels"), "label")
    assert sorted(map(tuple, frame.to_numpy().tolist())) == [("a", 0, "1"), ("b", 1, "0")]
    for doc, needle in [
        ({"request_id": "a", "label": 2}, "its classes are [0, 1]"),
        ({"request_id": "a", "label": True}, "labels.0.label"),
        ({"request_id": "", "label": 1}, "labels.0.request_id"),
        ({"labels": []}, "labels"),
        ({"request_id": "a", "label": 1, "extra": 1}, "extra"),
        (b"[1,", "not valid JSON"),
    ]:
        reply = call(core, "/v1/models/cancer/labels", doc)
        assert reply.status == 400 and needle in reply.payload["error"], reply.payload
    assert call(core, "/v1/models/nope/labels", {"request_id": "a", "label": 1}).status == 404


def test_unmatched_counts_ids_not_in_the_capture(core, cancer, tmp_path):
    writer = CaptureWriter(tmp_path / "capture", 100, flush_interval_s=60)
    x = rows(cancer, 1)
    for rid in ("seen-1", "seen-2"):
        writer.add(
            request_id=rid,
            model="cancer",
            version=4,
            protocol="v1_predict",
            status=200,
            latency_ms=1.0,
            features=cancer.features,
            inputs=x,
            prediction=cancer.predict(x),
        )
    writer.close()
    labels = [{"request_id": r, "label": 0} for r in ("seen-1", "seen-2", "never")]
    reply = call(core, "/v1/models/cancer/labels", {"labels": labels})
    assert (reply.payload["accepted"], reply.payload["unmatched"]) == (3, 1)


def test_no_capture_path_no_labels(cancer):
    c = EndpointCore()
    c.set_models({"cancer": cancer})

    async def read_body():
        return b"{}"

    reply = asyncio.run(c.handle("POST", "/v1/models/cancer/labels", {}, read_body, "r"))
    assert reply.status == 404 and "capture path" in reply.payload["error"]
