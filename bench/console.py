"""Benchmark: the web console's pages against a registry of 50 models × 5 versions.

    .venv/bin/python bench/console.py [--rounds 20]

Setup, in a temporary RAYMAKER_HOME removed afterwards (its time printed): one small real
XGBoost artifact (``tests/_factories.py``, breast_cancer) registered 250 times through the
registry API as 50 models × 5 versions (``cancer`` and ``model-01`` … ``model-49``) in the
embedded SQLite MLflow store, version 1 of each Approved, and of the first ten models also 2
Rejected and 3 Approved (the rest Pending), every decision with its history; three endpoints
recorded as a deploy records them (``tests/_recorded_deploy.py``: the traffic store and the
registry's ``served_by``): one with
two variants and a shadow, their replicas' statistics and 400 captured answers with labels
(its page computes the A/B readout and the shadow report), one with a running canary rollout,
one of a single version; four hourly monitor windows of ``cancer:1`` judged by
``run_monitor``; two training runs (torch, 3 epochs) in the run storage. No Ray.

Then the real ``raymaker console`` command on a free 127.0.0.1 port, logged in with a viewer
key (the login form, its CSRF token and cookie), and each page requested once per round, the
order rotated every round, after one unmeasured round: models, one model, one version, the
endpoints, two endpoints' pages, the monitors, one window, the runs, one run, the pipelines.
A request's time is the client's, from sending to the whole body read (keep-alive). After each
round the registry changes (a decision on ``model-49``: 3 rejected, then approved again, through
the registry API as the CLI makes it) and ``/models`` is timed once more: the console's snapshot
of the registry is read again then (``console/readers/registry_reads.py``); reported, not judged.

Goal (issue 21): every page's median ≤ 300 ms; the RESULT line carries the slowest page's
median. Exit 1 on a MISS.

Measured on the shared 2-core development box, quiet (20 rounds, 45 s; setup 30 s of which
registering the 250 versions 7 s and the 70 decisions 5 s — 200 s and 630 s while another test
run loaded the box): every page ≤ 20 ms median, the slowest /endpoints/canary-ep (its rollout's
live guardrail readings: the traffic store, the registry, the monitor reports), /models 2 ms;
/models right after a registry change 90 ms (61–353). Before the console kept a snapshot of the
registry (``console/readers/registry_reads.py``) and its readouts (``Readouts``), the same run
gave /models 516 ms (313–1035: ``list_models`` made a query per model), /endpoints/ab-ep 276 ms
(the A/B readout and shadow report read the capture with pandas on every load), /endpoints
97 ms: MISS.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

GOAL_MS = 300.0
MODELS, VERSIONS = 50, 5
VIEWER, ADMIN = "bench-viewer-key-0123456789abcdef", "bench-admin-key-0123456789abcdef"
T0 = datetime(2026, 11, 24, 10, tzinfo=UTC)


def populate(home: Path) -> dict[str, str]:
    """The registry, endpoints, monitor windows and runs; the pages' own names."""
    from _factories import xgboost_artifact

    from ray_apps import registry

    art = xgboost_artifact(home.parent / "artifact", source="sklearn:breast_cancer", scored=True)
    started = time.perf_counter()
    names = ["cancer"] + [f"model-{i:02d}" for i in range(1, MODELS)]
    for name in names:
        for _ in range(VERSIONS):
            registry.register(art, name, description=f"bench version of {name}")
    registered = time.perf_counter() - started
    decisions = 0
    for i, name in enumerate(names):  # a decision costs 0.3-4 s here: 70 of them, not 150
        registry.approve(name, 1, by="bench", reason="baseline")
        if i < 10:
            registry.reject(name, 2, by="bench", reason="worse than 1")
            registry.approve(name, 3, by="bench", reason="beats 1")
        decisions += 1 + 2 * (i < 10)
    decided = time.perf_counter() - started - registered
    print(
        f"registered {len(names)} x {VERSIONS} versions in {registered:.0f} s, "
        f"{decisions} decisions in {decided:.0f} s",
        flush=True,
    )
    return {"model": "cancer", **_endpoints(home, art), **_monitors(home, art), **_runs(home)}


def _endpoints(home: Path, art: Path) -> dict[str, str]:
    import pytest
    from _recorded_deploy import deploy_without_ray, deploying_without_ray

    from serve.rollout.controller import start_rollout
    from serve.traffic.stats import StatsAccumulator
    from serve.traffic.store import open_store

    capture = str(home / "capture")
    deploy_without_ray(
        {
            "name": "ab-ep",
            "variants": [
                {"name": "prod", "model": "cancer:1", "weight": 90},
                {"name": "cand", "model": "cancer:3", "weight": 10, "replicas": "own"},
                {"name": "shady", "model": "cancer:4", "weight": 0, "force": True},
            ],
            "shadow": {"variant": "shady", "percent": 50},
            "capture": {"percent": 100, "path": capture},
        }
    )
    deploy_without_ray({"name": "canary-ep", "models": [{"name": "model-01", "version": 1}]})
    deploy_without_ray({"name": "one-ep", "models": [{"name": "model-02", "version": 3}]})
    store, now = open_store(), time.time()
    with pytest.MonkeyPatch.context() as patch:  # the rollout's deploy of its candidate
        deploying_without_ray(patch)
        start_rollout({"endpoint": "canary-ep", "candidate": "model-01:3", "bake_s": 3600})
    for endpoint, arms in (("ab-ep", ("prod", "cand", "shady")), ("canary-ep", ("stable",))):
        for replica in range(2):
            for k in range(60):  # a minute of reports, one a second, as replicas flush
                acc = StatsAccumulator()
                for i, arm in enumerate(arms):
                    acc.observe(arm, 500 if (k + i) % 50 == 0 else 200, 2.0 + (k + i) % 9)
                store.add_stats(endpoint, f"replica-{replica}", now - 60 + k, acc.take())
    _capture(capture, art, 400)
    return {"endpoint": "ab-ep", "rollout": "canary-ep"}


def _capture(root: str, art: Path, requests: int) -> None:
    """``requests`` one-row answers of ab-ep's variants (9 in 10 prod), every other one
    copied to the shadow, written by the endpoints' capture writer; their labels posted."""
    import pandas as pd

    from ray_apps import load_model
    from ray_apps.capture import write_labels
    from ray_apps.data import load_dataset
    from ray_apps.prediction import from_scores
    from ray_apps.spec import DatasetSpec
    from serve.capture import CaptureWriter

    model = load_model(art)
    data = load_dataset(DatasetSpec(source="sklearn:breast_cancer"))
    rows = pd.concat([data.train, data.valid, data.test]).head(requests)
    features = model.info.feature_names
    x = rows[features].to_numpy(dtype=float)
    pred = from_scores(model.predict_matrix(x), "classification", model.info.classes)
    writer = CaptureWriter(root, 100.0, flush_interval_s=60)
    for i in range(len(rows)):
        one = from_scores(pred.probabilities[i : i + 1], "classification", model.info.classes)
        common = {"request_id": f"req-{i}", "model": "cancer", "protocol": "v1_predict"}
        common |= {"status": 200, "features": features, "inputs": x[i : i + 1], "prediction": one}
        arm, version = ("cand", 3) if i % 10 == 0 else ("prod", 1)
        writer.add(**common, version=version, latency_ms=3.0, variant=arm)
        if i % 2 == 0:
            writer.add(**common, version=4, latency_ms=5.0, variant="shady", shadow=True)
    writer.close()
    ids = [f"req-{i}" for i in range(len(rows))]
    write_labels(root, "cancer", ids, [0] * len(ids), rows[data.label].tolist())


def _monitors(home: Path, art: Path) -> dict[str, str]:
    from _monitor_data import SOURCE, capture, shifted

    from ray_apps import load_model
    from ray_apps.data import load_dataset
    from ray_apps.monitoring import run_monitor
    from ray_apps.spec import DatasetSpec

    data = load_dataset(DatasetSpec(source=SOURCE))
    rows, std = data.test.drop(columns=data.label), data.train.std(numeric_only=True)
    model, root, key = load_model(art), home / "monitor-capture", ""
    for hour in range(4):
        at = T0 + timedelta(hours=hour)
        capture(root, model, shifted(rows, std, hour), at + timedelta(minutes=5), f"req-{hour}")
        result = run_monitor(
            {
                "model": "cancer:1",
                "artifact": str(art),
                "current": {
                    "capture": str(root),
                    "since": at.isoformat(),
                    "until": (at + timedelta(hours=1)).isoformat(),
                },
                "html": False,
            },
            now=at + timedelta(hours=1, minutes=1),
        )
        key = result.summary.window.key
    return {"window": key}


def _runs(home: Path) -> dict[str, str]:
    from ray_apps.training import run_training

    name = ""
    for seed in range(2):
        result = run_training(
            {
                "name": f"bench-mlp-{seed}",
                "dataset": {"source": "sklearn:breast_cancer"},
                "model": {"kind": "torch", "params": {"hidden_sizes": [16]}},
                "hyperparameters": {"epochs": 3, "batch_size": 64, "lr": 0.01},
                "scaling": {"num_workers": 1},
                "health": {"rules": ["loss_not_decreasing", "nonfinite"]},
            }
        )
        name = result.run_name
    return {"run": name}


def pages(names: dict[str, str]) -> list[str]:
    m = names["model"]
    return [
        "/models",
        f"/models/{m}",
        f"/models/{m}/versions/3",
        "/endpoints",
        f"/endpoints/{names['endpoint']}",
        f"/endpoints/{names['rollout']}",
        "/monitors",
        f"/monitors/{m}/1/{names['window']}",
        "/runs",
        f"/runs/{names['run']}",
        "/pipelines",
    ]


def measure(base: str, paths: list[str], rounds: int) -> tuple[dict[str, list[float]], list]:
    import httpx

    from ray_apps import registry

    took: dict[str, list[float]] = {p: [] for p in paths}
    changed: list[float] = []  # /models right after the registry changed
    with httpx.Client(base_url=base, timeout=60) as client:
        form = client.get("/login")
        token = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)
        login = client.post("/login", data={"key": VIEWER, "csrf": token, "next": "/models"})
        if login.status_code != 303:
            raise RuntimeError(f"login failed: {login.status_code} {login.text[:200]}")
        for r in range(rounds + 1):  # round 0 warms caches and imports up, unmeasured
            shift = r % len(paths)
            for path in paths[shift:] + paths[:shift]:
                start = time.perf_counter()
                response = client.get(path)
                ms = (time.perf_counter() - start) * 1000
                if response.status_code != 200 or 'id="error"' in response.text:
                    raise RuntimeError(f"{path} answered {response.status_code}")
                if r:
                    took[path].append(ms)
            if r:
                decide = registry.approve if r % 2 == 0 else registry.reject
                decide("model-49", 3, by="bench", reason=f"round {r}")
                start = time.perf_counter()
                client.get("/models").raise_for_status()
                changed.append((time.perf_counter() - start) * 1000)
                row = " ".join(f"{statistics.median(v):.0f}" for v in took.values())
                print(f"round {r}: medians so far (ms) {row}", flush=True)
    return took, changed


def serve_console(home: Path, log: Path):
    from _sockets import free_port

    port = free_port()
    env = {
        **os.environ,
        "RAYMAKER_HOME": str(home),
        "RAYMAKER_ADMIN_KEYS": ADMIN,
        "RAYMAKER_VIEWER_KEYS": VIEWER,
        "PYTHONPATH": str(ROOT),
    }
    command = [sys.executable, "-m", "ray_apps.cli", "console", "--port", str(port)]
    proc = subprocess.Popen(
        command, env=env, cwd=ROOT, stdout=log.open("w"), stderr=subprocess.STDOUT
    )
    return proc, f"http://127.0.0.1:{port}"


def wait_up(proc, base: str, log: Path) -> None:
    import httpx

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"raymaker console exited {proc.returncode}: {log.read_text()}")
        try:
            if httpx.get(f"{base}/login", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"raymaker console did not answer on {base} in 120 s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="raymaker-bench-console-") as tmp:
        home = Path(tmp) / "home"
        os.environ["RAYMAKER_HOME"] = str(home)
        os.environ["RAYMAKER_MLFLOW_ARTIFACTS"] = str(Path(tmp) / "mlflow-artifacts")
        for var in ("MLFLOW_TRACKING_URI", "RAYMAKER_STORAGE"):
            os.environ.pop(var, None)
        started = time.perf_counter()
        names = populate(home)
        print(f"setup {time.perf_counter() - started:.0f} s", flush=True)
        log = Path(tmp) / "console.log"
        proc, base = serve_console(home, log)
        try:
            wait_up(proc, base, log)
            paths = pages(names)
            took, changed = measure(base, paths, args.rounds)
        finally:
            proc.terminate()
            proc.wait(20)

    print(f"\n{args.rounds} rounds; per page median (min–max), p90, in ms")
    for path, values in took.items():
        p90 = statistics.quantiles(values, n=10)[-1] if len(values) > 1 else values[0]
        print(
            f"  {path:<60} {statistics.median(values):6.0f} "
            f"({min(values):.0f}–{max(values):.0f}), p90 {p90:.0f}"
        )
    print(
        f"  /models right after a registry change (reported) {statistics.median(changed):6.0f} "
        f"({min(changed):.0f}–{max(changed):.0f})"
    )
    slowest = max(took, key=lambda p: statistics.median(took[p]))
    value = statistics.median(took[slowest])
    print(f"slowest page: {slowest}")
    ok = value <= GOAL_MS
    verdict = "PASS" if ok else "MISS"
    print(f"RESULT console_page_p50_ms_slowest {value:.0f} goal <= {GOAL_MS:.0f} {verdict}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
