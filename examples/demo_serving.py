"""The serving part of the raymaker demo: registry → approval → endpoint → V1/V2 calls, then
watching the served model (``demo_watch``: shifted traffic, monitor, explanations, evaluation).

    flock /tmp/raymaker-ray.lock .venv/bin/python examples/demo_serving.py

``__main__`` trains a quick XGBoost model first; ``examples/demo.py`` calls ``serve_demo`` with
the artifact of its own XGBoost run. Call ``serve.ingress.use_fast_ingress()`` before Ray starts
(before training) so the endpoint gets the HAProxy ingress.
"""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

import httpx
from rich.console import Console

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from examples.demo_watch import watch_demo  # noqa: E402
from ray_apps import registry  # noqa: E402
from serve import deploy, undeploy  # noqa: E402
from serve.ingress import use_fast_ingress  # noqa: E402

HERE = Path(__file__).resolve().parent
console = Console(soft_wrap=True, highlight=False)


def say(*parts) -> None:
    console.print(*parts, markup=False)  # server answers hold [brackets] that are not markup


KEY_ENV = "RAYMAKER_DEMO_API_KEYS"


def serve_demo(artifact_path: str, *, model: str = "cancer", port: int = 8000) -> None:
    """Register and approve the artifact, deploy it with an API key, call it, shut down."""
    from ray import serve as ray_serve

    console.rule("[bold]serving: registry, approval, endpoint")
    console.print(use_fast_ingress())
    mv = registry.register(artifact_path, model, description="demo")
    console.print(f"registered {mv.ref}: status {mv.status}, sha256 {mv.manifest_sha256[:12]}…")
    mv = registry.approve(model, mv.version, by="demo", reason="best test metrics of the demo")
    console.print(f"approved {mv.ref} by {mv.history[-1]['by']} at {mv.history[-1]['at']}")

    os.environ[KEY_ENV] = secrets.token_urlsafe(24)  # a real deployment sets this outside
    capture = Path(os.environ.get("RAYMAKER_HOME", "raymaker_data")) / "capture"
    spec = {
        "name": f"{model}-endpoint",
        "models": [{"name": model, "version": mv.version}],
        "auth": {"api_key_envs": [KEY_ENV]},
        "capture": {"percent": 100, "path": str(capture.resolve())},
        "autoscaling": {"min_replicas": 1, "max_replicas": 2},
    }
    info = deploy(spec, port=port)
    console.print(f"endpoint {info.name} serves {', '.join(info.models)} at {info.url}")
    try:
        _calls(info.url, model)
        auth = {"Authorization": f"Bearer {os.environ[KEY_ENV]}"}
        watch_demo(info.url, auth, model, mv.version, capture.resolve())
    finally:
        undeploy(info.name)  # replicas drain and flush their captured records
        ray_serve.shutdown()
    from ray_apps import read_capture

    captured = read_capture(capture, model, version=mv.version)
    statuses = ", ".join(f"{code}: {n}" for code, n in captured["status"].value_counts().items())
    console.print(
        f"data capture: {len(captured)} row(s) of {mv.ref} read back with read_capture "
        f"(status {statuses}; a column per feature among {len(captured.columns)}) from {capture}"
    )
    console.print("[green]serving demo finished[/green]: endpoint shut down cleanly")


def _calls(url: str, model: str) -> None:
    import pandas as pd

    from ray_apps.data import load_dataset
    from ray_apps.spec import DatasetSpec

    auth = {"Authorization": f"Bearer {os.environ[KEY_ENV]}"}
    with httpx.Client(base_url=url, timeout=30) as http:
        meta = http.get(f"v2/models/{model}", headers=auth).json()
        features = meta["parameters"]["features"]
        data = load_dataset(DatasetSpec(source="sklearn:breast_cancer"))
        rows: pd.DataFrame = data.test[features].head(3)

        v1 = http.post(
            f"v1/models/{model}:predict", headers=auth, json={"instances": rows.to_numpy().tolist()}
        )
        say(
            f"KServe V1  POST v1/models/{model}:predict → {v1.status_code} "
            f"predictions {v1.json()['predictions']} (version "
            f"{v1.json()['model_version']})"
        )
        tensor = {
            "name": "input-0",
            "shape": list(rows.shape),
            "datatype": "FP64",
            "data": rows.to_numpy().ravel().tolist(),
        }
        v2 = http.post(f"v2/models/{model}/infer", headers=auth, json={"inputs": [tensor]})
        out = {o["name"]: o["data"] for o in v2.json()["outputs"]}
        say(
            f"OIP V2     POST v2/models/{model}/infer → {v2.status_code} "
            f"predict {out['predict']}, probabilities {out['probabilities'][:2]}…"
        )
        _async_call(http, auth, model, rows)
        denied = http.post(f"v1/models/{model}:predict", json={"instances": [[0.0]]})
        say(f"no API key → {denied.status_code} {denied.json()['error']}")
        bad = http.post(
            f"v1/models/{model}:predict", headers=auth, json={"instances": [[1.0, 2.0]]}
        )
        say(f"bad input  → {bad.status_code} {bad.json()['error'][:100]}…")


def _async_call(http: httpx.Client, auth: dict, model: str, rows) -> None:
    """One asynchronous request: 202 + status URL, polled until it is answered."""
    import time

    sent = http.post(
        f"v1/models/{model}:predict-async",
        headers=auth,
        json={"instances": rows.to_numpy().tolist()},
    )
    ticket = sent.json()
    say(f"async      POST v1/models/{model}:predict-async → {sent.status_code} id {ticket['id']}")
    deadline = time.monotonic() + 120  # the consumer starts from zero replicas
    status = http.get(ticket["status_url"], headers=auth).json()
    while status["status"] in ("queued", "running") and time.monotonic() < deadline:
        time.sleep(0.5)
        status = http.get(ticket["status_url"], headers=auth).json()
    if status["status"] != "succeeded":
        raise RuntimeError(f"async request {ticket['id']} ended {status['status']}: {status}")
    result = http.get(status["result_url"], headers=auth).json()
    say(
        f"async      GET {ticket['status_url']} → {status['status']}; "
        f"result predictions {result['predictions']}"
    )


def main() -> int:
    from ray_apps import load_train_spec, run_training

    console.print(use_fast_ingress())  # before Ray starts: local Ray passes it on to Serve
    spec = load_train_spec(HERE / "train_xgboost.yaml").model_dump()
    spec["hyperparameters"]["rounds"] = 20
    spec["checkpoint"] = {"every": 10, "keep": 1}
    result = run_training(spec)
    serve_demo(result.artifact_path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
