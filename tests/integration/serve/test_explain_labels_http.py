"""Online explanations (V1 :explain, V2 /explain) and posted labels over real Serve HTTP: SHAP
values add up to the model's own margin, keys and row limits are enforced, and labels posted
for captured requests give the monitor its model-quality section."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import numpy as np
import pytest
from _factories import torch_artifact
from _serve_helpers import KEY, PORT, wait_for

from ray_apps import read_capture, registry
from ray_apps.data import load_dataset
from ray_apps.errors import NotFoundError
from ray_apps.spec import DatasetSpec
from serve import deploy

AUTH = {"Authorization": f"Bearer {KEY}"}
XGB_TOLERANCE = 1e-4  # the bound; TreeExplainer is exact
MLP_TOLERANCE = 1e-4  # permutation SHAP telescopes exactly, up to the MLP's float32 pass
MAX_ROWS = 20


@pytest.fixture(scope="module")
def watched(serve_instance, iris, tmp_path_factory):
    """iris:2 (XGBoost) and iris-mlp:1 (PyTorch) on one endpoint: key, capture, row limit."""
    from ray import serve

    root = tmp_path_factory.mktemp("watched")
    mlp = registry.register(torch_artifact(root / "mlp"), "iris-mlp")
    registry.approve("iris-mlp", mlp.version, by="tests", reason="fixture")
    capture = root / "capture"
    spec = {
        "name": "watched",
        "models": [{"name": iris, "version": 2}, {"name": "iris-mlp", "version": mlp.version}],
        "auth": {"api_key_envs": ["RAYMAKER_TEST_KEYS"]},
        "capture": {"percent": 100, "path": str(capture), "flush_interval_s": 0.2},
        "max_explain_rows": MAX_ROWS,
    }
    deploy(spec, port=PORT)
    with httpx.Client(base_url=serve_instance, timeout=60) as http:
        yield http, capture
    serve.delete("watched")


def _rows(n: int) -> np.ndarray:
    data = load_dataset(DatasetSpec(source="sklearn:iris"))
    return data.test[data.feature_names].to_numpy()[:n]


def _local_margin(ref: str, x: np.ndarray) -> np.ndarray:
    model, _ = registry.load_version(ref)
    info = model.info
    return model.learner.margin(model.predictor, info.preprocessor.transform_array(x), info)


def test_v1_explain_xgboost_adds_up_to_the_models_margin(watched):
    http, _ = watched
    x = _rows(5)
    r = http.post("/v1/models/iris:explain", headers=AUTH, json={"instances": x.tolist()})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["method"] == "tree" and body["margin_kind"] == "scores"
    outputs = body["output"]  # three classes: one map of feature → value per output
    assert outputs == ["score(0)", "score(1)", "score(2)"]
    features = body["feature_names"]
    values = np.array(
        [[[row[o][f] for o in outputs] for f in features] for row in body["explanations"]]
    )
    expected = np.array([body["expected_value"][o] for o in outputs])
    margins = np.array(body["margins"])
    assert values.shape == (5, 4, 3)
    assert np.abs(values.sum(axis=1) + expected - margins).max() < XGB_TOLERANCE
    np.testing.assert_allclose(margins, _local_margin("iris:2", x), atol=1e-5)
    predicted = http.post("/v1/models/iris:predict", headers=AUTH, json={"instances": x.tolist()})
    assert body["predictions"] == predicted.json()["predictions"]


def test_v2_explain_tensors_and_parameters(watched):
    http, _ = watched
    x = _rows(3)
    tensor = {"name": "input-0", "shape": [3, 4], "datatype": "FP32", "data": x.ravel().tolist()}
    r = http.post(
        "/v2/models/iris/versions/2/explain", headers=AUTH, json={"id": "e1", "inputs": [tensor]}
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["id"] == "e1" and body["model_version"] == "2"
    assert (
        body["parameters"]["feature_names"]
        == http.get("/v2/models/iris", headers=AUTH).json()["parameters"]["features"]
    )
    out = {o["name"]: o for o in body["outputs"]}
    assert out["shap_values"]["shape"] == [3, 4, 3] and out["margin"]["shape"] == [3, 3]
    values = np.reshape(out["shap_values"]["data"], (3, 4, 3))
    margin = np.reshape(out["margin"]["data"], (3, 3))
    expected = np.asarray(out["expected_value"]["data"])
    assert np.abs(values.sum(axis=1) + expected - margin).max() < XGB_TOLERANCE
    only = http.post(
        "/v2/models/iris/explain",
        headers=AUTH,
        json={"inputs": [tensor], "outputs": [{"name": "shap_values"}]},
    )
    assert [o["name"] for o in only.json()["outputs"]] == ["shap_values"]


def test_v1_explain_mlp_adds_up(watched):
    http, _ = watched
    x = _rows(2)
    r = http.post("/v1/models/iris-mlp:explain", headers=AUTH, json={"instances": x.tolist()})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["method"] == "permutation"
    outputs, features = body["output"], body["feature_names"]
    values = np.array(
        [[[row[o][f] for o in outputs] for f in features] for row in body["explanations"]]
    )
    expected = np.array([body["expected_value"][o] for o in outputs])
    margins = np.array(body["margins"])
    scale = np.maximum(1.0, np.abs(margins))
    assert (np.abs(values.sum(axis=1) + expected - margins) / scale).max() < MLP_TOLERANCE
    np.testing.assert_allclose(margins, _local_margin("iris-mlp", x), atol=1e-5)


def test_keys_row_limit_and_bad_input(watched):
    http, _ = watched
    body = {"instances": _rows(2).tolist()}
    for path in ("/v1/models/iris:explain", "/v1/models/iris/labels"):
        assert http.post(path, json=body).status_code == 401
        assert (
            http.post(path, json=body, headers={"Authorization": "Bearer nope"}).status_code == 403
        )
    too_many = {"instances": np.tile(_rows(1), (MAX_ROWS + 1, 1)).tolist()}
    r = http.post("/v1/models/iris:explain", headers=AUTH, json=too_many)
    assert r.status_code == 413 and f"at most {MAX_ROWS} rows" in r.json()["error"]
    assert "max_explain_rows" in r.json()["error"]
    bad = {"instances": [[1.0, 2.0]]}
    explained = http.post("/v1/models/iris:explain", headers=AUTH, json=bad)
    predicted = http.post("/v1/models/iris:predict", headers=AUTH, json=bad)
    assert explained.status_code == predicted.status_code == 400
    assert explained.json() == predicted.json()


def test_posted_labels_give_the_monitor_model_quality(watched):
    from ray_apps.monitoring import run_monitor

    http, capture = watched
    data = load_dataset(DatasetSpec(source="sklearn:iris"))
    frame = data.train.head(40)
    since = datetime.now(UTC)
    ids, predictions = [], []
    for row in frame[data.feature_names].to_numpy():
        r = http.post("/v1/models/iris:predict", headers=AUTH, json={"instances": [row.tolist()]})
        ids.append(r.headers["x-request-id"])
        predictions.append(r.json()["predictions"][0])
    truth = [int(v) for v in frame[data.label]]

    def captured():
        try:
            return len(read_capture(capture, "iris", version=2, since=since)) >= len(ids)
        except NotFoundError:  # no file flushed yet
            return False

    wait_for(captured, 30, "the 40 requests in the capture")
    # A wrong label first, corrected later; and two ids this endpoint never answered.
    first = {"request_id": ids[0], "label": (truth[0] + 1) % 3}
    assert http.post("/v1/models/iris/labels", headers=AUTH, json=first).json()["unmatched"] == 0
    labels = [{"request_id": i, "label": y} for i, y in zip(ids, truth, strict=True)]
    labels += [{"request_id": "nobody-1", "label": 0}, {"request_id": "nobody-2", "label": 1}]
    r = http.post("/v1/models/iris/labels", headers=AUTH, json={"labels": labels})
    assert r.status_code == 200, r.text
    assert r.json()["accepted"] == 42 and r.json()["unmatched"] == 2
    bad = http.post("/v1/models/iris/labels", headers=AUTH, json={"request_id": "x", "label": 7})
    assert bad.status_code == 400 and "[0, 1, 2]" in bad.json()["error"]

    result = run_monitor(
        {
            "model": "iris:2",
            "current": {"capture": str(capture), "since": since, "until": datetime.now(UTC)},
            "html": False,
        }
    )
    mq = result.summary.model_quality
    assert mq is not None and mq.labeled_rows == 40 and mq.unlabeled_rows == 0
    accuracy = np.mean(np.asarray(predictions) == np.asarray(truth))
    assert mq.metrics["accuracy"] == pytest.approx(accuracy)
