"""One endpoint with every guard on (API key, 2 KiB body limit, 100 % capture): bad input,
auth, registry over HTTP, and the captured records after a clean shutdown."""

import json

import pytest
from _serve_helpers import KEY, PORT, wait_for

from ray_apps import read_capture
from ray_apps.capture import RESERVED
from serve import deploy, undeploy

AUTH = {"Authorization": f"Bearer {KEY}"}
GOOD = [5.1, 3.5, 1.4, 0.2]


@pytest.fixture()
def guarded(endpoint, iris, tmp_path):
    spec = {
        "name": "guarded",
        "models": [{"name": iris, "version": 2}],
        "auth": {"api_key_envs": ["RAYMAKER_TEST_KEYS"]},
        "max_body_bytes": 2048,
        "capture": {"percent": 100, "path": str(tmp_path / "capture"), "flush_interval_s": 60},
    }
    deploy(spec, port=PORT)
    return tmp_path / "capture"


def _v2(data, shape=(1, 4), datatype="FP32", name="input-0"):
    return {"inputs": [{"name": name, "shape": list(shape), "datatype": datatype, "data": data}]}


BAD = [
    ("v1 malformed json", "/v1/models/iris:predict", b'{"instances": [1,', 400, "not valid JSON"),
    ("v2 malformed json", "/v2/models/iris/infer", b"{nope", 400, "not valid JSON"),
    ("v1 no instances", "/v1/models/iris:predict", {"rows": [GOOD]}, 400, '"instances"'),
    ("v1 wrong shape", "/v1/models/iris:predict", {"instances": [[1, 2, 3]]}, 400, "[n, 4]"),
    ("v1 ragged", "/v1/models/iris:predict", {"instances": [[1, 2, 3, 4], [1]]}, 400, "lengths"),
    (
        "v1 strings",
        "/v1/models/iris:predict",
        {"instances": [["a", "b", "c", "d"]]},
        400,
        "expected numbers",
    ),
    (
        "v1 unknown feature",
        "/v1/models/iris:predict",
        {"instances": [{"petal": 1.0}]},
        400,
        "unknown features ['petal']",
    ),
    ("v1 NaN", "/v1/models/iris:predict", b'{"instances": [[NaN, 1, 2, 3]]}', 400, "NaN"),
    ("v1 empty batch", "/v1/models/iris:predict", {"instances": []}, 400, "empty"),
    (
        "v2 wrong shape",
        "/v2/models/iris/infer",
        _v2([1, 2, 3, 4, 5, 6], (2, 4)),
        400,
        "needs 8 values",
    ),
    (
        "v2 bytes",
        "/v2/models/iris/infer",
        _v2(["a", "b", "c", "d"], datatype="BYTES"),
        400,
        "datatype 'BYTES'",
    ),
    (
        "v2 floats as INT64",
        "/v2/models/iris/infer",
        _v2([1.5, 2, 3, 4], datatype="INT64"),
        400,
        "datatype is INT64",
    ),
    (
        "v2 inf",
        "/v2/models/iris/infer",
        b'{"inputs": [{"name": "x", "shape": [1, 4], '
        b'"datatype": "FP64", "data": [Infinity, 1, 2, 3]}]}',
        400,
        "infinite",
    ),
    ("v2 empty batch", "/v2/models/iris/infer", _v2([], (0, 4)), 400, "empty"),
    (
        "v2 unknown names",
        "/v2/models/iris/infer",
        {"inputs": [{"name": n, "shape": [1], "datatype": "FP32", "data": [1]} for n in "ab"]},
        400,
        "unknown names ['a', 'b']",
    ),
    (
        "v2 unknown output",
        "/v2/models/iris/infer",
        {**_v2(GOOD), "outputs": [{"name": "x"}]},
        400,
        "do not exist",
    ),
    ("oversized", "/v1/models/iris:predict", {"instances": [GOOD] * 200}, 413, "at most 2048"),
    ("unknown model", "/v1/models/nope:predict", {"instances": [GOOD]}, 404, "not served"),
    ("unknown version", "/v2/models/iris/versions/99/infer", _v2(GOOD), 404, "not served"),
    ("pending version", "/v2/models/iris/versions/3/infer", _v2(GOOD), 409, "is Pending"),
    ("unknown route", "/v3/models/iris", {}, 404, "no route"),
]


def test_bad_input_gets_4xx_json_and_the_replica_keeps_serving(guarded, client):
    for what, path, body, status, says in BAD:
        kw = {"content": body} if isinstance(body, bytes) else {"json": body}
        r = client.post(path, headers=AUTH, **kw)
        assert r.status_code == status, (what, r.text)
        assert says in r.json()["error"], (what, r.json())
    ok = client.post("/v1/models/iris:predict", headers=AUTH, json={"instances": [GOOD]})
    assert ok.status_code == 200 and ok.json()["model_version"] == "2"


def test_api_keys(guarded, client):
    body = {"instances": [GOOD]}
    assert client.post("/v1/models/iris:predict", json=body).status_code == 401
    basic = {"Authorization": "Basic abc"}
    assert client.post("/v1/models/iris:predict", json=body, headers=basic).status_code == 401
    wrong = {"Authorization": "Bearer wrong"}
    r = client.post("/v1/models/iris:predict", json=body, headers=wrong)
    assert r.status_code == 403 and "wrong" not in r.text
    assert client.get("/v2/health/ready").status_code == 200  # health stays open
    assert client.get("/registry/models").status_code == 401
    models = client.get("/registry/models", headers=AUTH).json()["models"]
    assert "iris" in [m["name"] for m in models]
    v3 = client.get("/registry/models/iris/versions/3", headers=AUTH).json()
    assert v3["status"] == "Pending"
    r = client.post("/admin/registry/models/iris/versions/3:reject", headers=AUTH, json={"by": "x"})
    assert r.status_code == 403 and "admin_key_envs" in r.json()["error"]  # no admin keys: off


def test_capture_writes_every_sampled_call_by_shutdown(guarded, client):
    sent, answers = {}, {}
    for i in range(5):
        rows = [[v + i for v in GOOD]] * (i + 1)
        r = client.post("/v1/models/iris:predict", headers=AUTH, json={"instances": rows})
        sent[r.headers["x-request-id"]], answers[r.headers["x-request-id"]] = rows, r.json()
    r = client.post("/v2/models/iris/infer", headers=AUTH, json=_v2(GOOD))
    v2_id = r.headers["x-request-id"]
    v2_labels = r.json()["outputs"][0]["data"]
    bad = client.post("/v1/models/iris:predict", headers=AUTH, json={"instances": [[1, 2]]})
    assert not list(guarded.rglob("*.parquet"))  # flushes every 60 s: nothing written yet
    undeploy("guarded")  # a clean shutdown writes the queue
    wait_for(lambda: list(guarded.rglob("*.parquet")), 20, "captured parquet files")
    frame = read_capture(guarded, "iris", version=2)
    features = [c for c in frame.columns if c not in RESERVED]
    assert len(features) == 4 and features[0].startswith("sepal")
    for rid, rows in sent.items():
        got = frame[frame.request_id == rid]
        assert got.row.tolist() == list(range(len(rows)))
        assert got[features].to_numpy().tolist() == rows
        assert got.prediction.tolist() == answers[rid]["predictions"]
        assert [list(p) for p in got.probabilities] == answers[rid]["probabilities"]
        assert set(got.status) == {200} and set(got.protocol) == {"v1_predict"}
    v2 = frame[frame.request_id == v2_id]
    assert v2[features].to_numpy().tolist() == [GOOD] and v2.prediction.tolist() == v2_labels
    failed = frame[frame.request_id == bad.headers["x-request-id"]].iloc[0]
    assert failed.status == 400 and "[n, 4]" in failed.error
    assert json.loads(failed.body) == {"instances": [[1, 2]]}
    assert frame.loc[frame.status == 400, features].isna().all(axis=None)
    assert set(frame.model) == {"iris"} and set(frame.version) == {"2"}
    assert any(p.parent.name.startswith("hour=") for p in guarded.rglob("part-*.parquet"))
