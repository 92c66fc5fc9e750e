import numpy as np
import pytest
from _serve_helpers import PORT

from serve import deploy

ROWS = [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]


@pytest.fixture()
def iris_app(endpoint, iris):
    deploy({"name": "iris-app", "models": [{"name": iris, "version": 1}]}, port=PORT)
    return endpoint


def test_v1_rows_and_objects(iris_app, client):
    r = client.post("/v1/models/iris:predict", json={"instances": ROWS})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["model_name"] == "iris" and body["model_version"] == "1"
    assert body["predictions"] == [0, 2] and len(body["probabilities"][0]) == 3
    meta = client.get("/v2/models/iris").json()
    names = meta["parameters"]["features"]
    objs = [dict(zip(names, row, strict=True)) for row in ROWS]
    assert client.post("/v1/models/iris:predict", json={"instances": objs}).json() == body
    assert client.get("/v1/models/iris").json()["ready"] is True


def test_v2_through_tritonclient(iris_app):
    import tritonclient.http as httpclient

    triton = httpclient.InferenceServerClient(url=iris_app.removeprefix("http://"))
    assert triton.is_server_live() and triton.is_server_ready()
    assert triton.is_model_ready("iris")
    assert triton.get_model_metadata("iris")["versions"] == ["1"]
    for binary in (False, True):
        inp = httpclient.InferInput("input-0", [2, 4], "FP32")
        inp.set_data_from_numpy(np.asarray(ROWS, np.float32), binary_data=binary)
        result = triton.infer("iris", [inp], model_version="1")
        assert result.as_numpy("predict").tolist() == [0, 2]
        probs = result.as_numpy("probabilities")
        assert probs.shape == (2, 3) and np.allclose(probs.sum(axis=1), 1)
        assert result.get_response()["model_version"] == "1"
