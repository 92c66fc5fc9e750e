"""A multi-model endpoint on the HAProxy ingress routes each model to one replica, and spreads a
hot one over both under load (serve/multi_model/routing.py).

``raymaker deploy --config`` runs as an operator runs it: a subprocess with its own local Ray
and Serve's HAProxy ingress through raymaker's wrapper, two replicas. (The session's Serve runs
the plain proxy, where HAProxy never routes.) What each replica did is read from its own cache
report, GET /admin/models, which names no model and so reaches both replicas in turn.
"""

from concurrent.futures import ThreadPoolExecutor

import httpx
import yaml
from _factories import xgboost_artifact
from _serve_helpers import deploy_process, wait_for

from ray_apps import load_model, registry

N_MODELS, HOT = 16, "route-1"
ROWS = [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]
ADMIN_KEY = "admin-key-route-0123456789"
ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}


def test_each_model_stays_on_one_replica_and_a_hot_one_spreads(raymaker_home, tmp_path):
    arts = {}
    for i in range(1, N_MODELS + 1):
        arts[f"route-{i}"] = xgboost_artifact(tmp_path / f"a{i}", rounds=1 + i % 5, seed=i)
        mv = registry.register(arts[f"route-{i}"], f"route-{i}")
        registry.approve(mv.name, mv.version, by="tests")
    spec = {
        "name": "routed",
        "route_prefix": "/shop",
        "models": {"prefix": "route-", "max_models": N_MODELS},
        "autoscaling": {"min_replicas": 2, "max_replicas": 2},
        "num_cpus": 0.25,
        "auth": {"admin_key_envs": ["RAYMAKER_TEST_ROUTE_ADMIN"]},
    }
    config = tmp_path / "endpoint.yaml"
    config.write_text(yaml.safe_dump(spec))
    args = ["--config", str(config)]
    admin = {"RAYMAKER_TEST_ROUTE_ADMIN": ADMIN_KEY}
    with deploy_process(args, raymaker_home, tmp_path / "deploy.log", **admin) as deployed:
        url = f"http://127.0.0.1:{deployed.port}/shop"
        with httpx.Client(base_url=url, timeout=60) as client:
            _each_model_on_one_replica(client, arts)
            _a_hot_model_on_both(client)


def _each_model_on_one_replica(client: httpx.Client, arts: dict) -> None:
    for name, art in arts.items():
        expected = load_model(art).predict(ROWS).tolist()
        for path in (f"/v1/models/{name}:predict",) * 3 + (f"/v2/models/{name}/infer",):
            body = (
                {"instances": ROWS}
                if "v1" in path
                else {"inputs": [{"name": "x", "shape": [2, 4], "datatype": "FP64", "data": ROWS}]}
            )
            r = client.post(path, json=body)
            assert r.status_code == 200, (path, r.text)
            if "v1" in path:
                assert r.json()["predictions"] == expected, name
    caches = _caches(client)
    homes = {}
    for name in arts:
        rows = [
            (rep, row)
            for rep, snap in caches.items()
            for row in snap["models"]
            if row["model"] == name
        ]
        # One client at a time: all 4 calls (V1 and V2) reached one replica, which loaded once.
        assert len(rows) == 1, (name, rows)
        replica, row = rows[0]
        assert (row["loads"], row["hits"] + row["misses"]) == (1, 4), (name, row)
        homes[name] = replica
    assert len(set(homes.values())) == 2, homes  # the names hash over both replicas


def _a_hot_model_on_both(client: httpx.Client) -> None:
    def burst(_: int) -> None:
        with httpx.Client(base_url=str(client.base_url), timeout=60) as own:
            for _ in range(100):
                r = own.post(f"/v1/models/{HOT}:predict", json={"instances": ROWS})
                assert r.status_code == 200, r.text

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(burst, range(8)))
    served = {
        replica: sum(r["hits"] + r["misses"] for r in snap["models"] if r["model"] == HOT)
        for replica, snap in _caches(client).items()
    }
    # 800 calls by 8 clients at once: bounded-load hashing spilled the queue on the model's
    # replica onto the other one, instead of pinning the model to one replica (ray#48741).
    assert sum(served.values()) == 4 + 800, served
    assert min(served.values()) > 0, served
    print(f"hot model: calls per replica {sorted(served.values(), reverse=True)}")


def _caches(client: httpx.Client) -> dict[str, dict]:
    """{replica: its cache report}, once both replicas answered."""
    seen: dict[str, dict] = {}

    def both() -> bool:
        r = client.get("/admin/models", headers=ADMIN)
        assert r.status_code == 200, r.text
        seen[r.json()["replica"]] = r.json()
        return len(seen) == 2

    wait_for(both, 30, "GET /admin/models answered by both replicas", interval_s=0.02)
    return seen
