"""The rollout part of the raymaker demo: the next version goes live behind guardrails, then the
two versions are compared on labelled traffic.

1. The XGBoost model of the demo's step 2 (fixed hyperparameters) is registered and approved as
   the next version of ``cancer``; the endpoint serves the tuned version.
2. A guarded canary moves the endpoint's traffic to it (``serve.rollout.controller``) while a
   thread sends bounded load over 127.0.0.1; every decision is printed with its figures.
3. An A/B test: both versions as variants at 50/50 with capture on, the held-out rows sent with
   routing keys, their true labels posted to ``/v1/models/cancer/labels``, and
   ``ray_apps.experiments.ab_readout`` read out.

Demo settings, to fit in a minute: steps [20, 100], an 8 s bake and 15 requests per step (the
defaults are a 300 s bake and 100 requests). ``examples/demo.py`` calls ``rollout_demo`` after
the serving part; on its own (it trains two quick models first):

    flock /tmp/raymaker-ray.lock .venv/bin/python examples/demo_rollout.py
"""

from __future__ import annotations

import os
import secrets
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ray_apps import read_capture, registry, settings  # noqa: E402
from serve import deploy, undeploy  # noqa: E402

console = Console(soft_wrap=True, highlight=False)
ENDPOINT = "cancer-endpoint"
KEY_ENV, ADMIN_ENV = "RAYMAKER_DEMO_API_KEYS", "RAYMAKER_DEMO_ADMIN_KEYS"
# Demo settings: short steps on a small load (defaults: bake_s 300, min_requests 100).
STEPS, BAKE_S, MIN_REQUESTS = [20, 100], 8, 15
LOAD_INTERVAL_S, LOAD_MAX_S = 0.015, 150  # one request at a time, never past 150 s


def say(*parts) -> None:
    console.print(*parts, markup=False)  # reasons hold [brackets] that are not markup


def demo_rollout_spec(endpoint: str, candidate: str) -> dict[str, Any]:
    """The demo's canary: short steps, few requests; the guardrails' limits are the defaults."""
    return {
        "endpoint": endpoint,
        "candidate": candidate,
        "strategy": "canary",
        "steps": STEPS,
        "bake_s": BAKE_S,
        "guardrails": {"min_requests": MIN_REQUESTS},
        "num_cpus": 0.25,
        "autoscaling": {"min_replicas": 1, "max_replicas": 1},
    }


def figures_line(f: dict[str, Any]) -> str:
    """A decision's guardrail figures in one line (None: not judged yet)."""
    if not f or "candidate_requests" not in f:
        return ""

    def pct(v) -> str:
        return "-" if v is None else f"{v:.1%}"

    def ms(v) -> str:
        return "-" if v is None else f"{v:.1f} ms"

    p99_limit = f.get("p99_limit_ms")
    judged = f"limit {ms(p99_limit)}" if p99_limit is not None else "not judged below 100 a side"
    return (
        f"candidate {f['candidate_requests']} req, 5xx {pct(f['candidate_5xx_rate'])} "
        f"(lower bound {pct(f['candidate_5xx_lower'])}), 4xx {pct(f['candidate_4xx_rate'])}; "
        f"stable {f['stable_requests']} req, 5xx {pct(f['stable_5xx_rate'])}, "
        f"4xx {pct(f['stable_4xx_rate'])}; p99 {ms(f['candidate_p99_ms'])} vs "
        f"{ms(f['stable_p99_ms'])} ({judged})"
    )


class Load:
    """Bounded load from one thread: one held-out row per V1 request, answers counted."""

    def __init__(self, url: str, auth: dict, model: str, rows: list[list[float]]):
        self.url, self.auth, self.model, self.rows = url, auth, model, rows
        self.seen: Counter = Counter()  # (variant, version, status) → requests
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Load:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        deadline = time.monotonic() + LOAD_MAX_S
        with httpx.Client(base_url=self.url, timeout=30) as http:
            i = 0
            while not self._stop.wait(LOAD_INTERVAL_S) and time.monotonic() < deadline:
                body = {"instances": [self.rows[i % len(self.rows)]]}
                try:
                    r = http.post(f"v1/models/{self.model}:predict", headers=self.auth, json=body)
                    key = (
                        r.headers.get("x-raymaker-variant", "-"),
                        r.json().get("model_version", "-") if r.status_code == 200 else "-",
                        r.status_code,
                    )
                except httpx.HTTPError as err:  # counted, never raised out of the thread
                    key = ("-", "-", type(err).__name__)
                self.seen[key] += 1
                i += 1


def rollout_demo(stable: int, candidate_artifact: str, *, model: str = "cancer") -> None:
    """Register the next version, roll it out under load, then A/B the two on labelled rows."""
    from ray import serve as ray_serve

    from ray_apps.data import load_dataset
    from ray_apps.spec import DatasetSpec

    mv = registry.register(candidate_artifact, model, description="demo: the next version")
    registry.approve(model, mv.version, by="demo", reason="fixed hyperparameters, for a rollout")
    console.print(f"registered and approved {mv.ref} (step 2's XGBoost); {model}:{stable} serves")
    data = load_dataset(DatasetSpec(source="sklearn:breast_cancer"))
    home = settings.home().resolve()
    store = home / "demo-traffic.db"  # the demo's own traffic store, fresh each run
    for stale in home.glob("demo-traffic.db*"):
        stale.unlink()
    os.environ[KEY_ENV] = secrets.token_urlsafe(24)
    os.environ[ADMIN_ENV] = secrets.token_urlsafe(24)
    spec = {
        "name": ENDPOINT,
        "models": [{"name": model, "version": stable}],
        "auth": {"api_key_envs": [KEY_ENV], "admin_key_envs": [ADMIN_ENV]},
        "capture": {"percent": 100, "path": str(home / "capture"), "flush_interval_s": 0.5},
        "traffic_store_url": f"sqlite:///{store}",
    }
    info = deploy(spec)
    console.print(f"endpoint {info.name} serves {', '.join(info.models)} at {info.url}")
    try:
        _rollout(info.url, spec, mv.ref, data)
        _ab_test(info.url, spec, model, stable, mv.version, data)
    finally:
        undeploy(ENDPOINT)  # its variants' applications too
        ray_serve.shutdown()


def _rollout(url: str, endpoint: dict, candidate: str, data) -> None:
    from serve.rollout.controller import run_rollout, start_rollout, store_for

    console.rule("[bold]rollout: a guarded canary under load")
    rollout = demo_rollout_spec(ENDPOINT, candidate)
    say(
        f"canary of {candidate}: steps {STEPS} %, bake {BAKE_S} s, min_requests {MIN_REQUESTS} "
        "(demo settings); 5xx ≤ 1 %, 4xx ≤ stable + 2 %, p99 ≤ stable × 1.5 + 5 ms"
    )
    store = store_for(endpoint)
    rows = data.test[data.feature_names].to_numpy().tolist()
    auth = {"Authorization": f"Bearer {os.environ[KEY_ENV]}"}
    started = time.monotonic()
    with Load(url, auth, endpoint["models"][0]["name"], rows) as load:
        record = start_rollout(rollout, store=store)
        say(f"[start] {record['history'][0]['percent']:g}% candidate: {record['state']['reason']}")

        shown = []

        def show(d: dict) -> None:
            # "wait" ("baking step 1 of 2: 3s of 8s") comes every tick, "hold" while counts grow.
            if d["action"] == "wait" or (d["action"] == "hold" and shown[-1:] == ["hold"]):
                return
            shown.append(d["action"])
            say(f"[{d['action']}] {d['percent']:g}% candidate: {d['reason']}")
            line = figures_line(d["figures"])
            if line:
                say(f"          {line}")

        record = run_rollout(ENDPOINT, store=store, tick_s=0.5, on_decision=show)
    took = time.monotonic() - started
    say(f"rollout {record['state']['status']} in {took:.0f} s")
    answered = ", ".join(
        f"{variant} ({model_version}) {status}: {n}"
        for (variant, model_version, status), n in sorted(load.seen.items(), key=str)
    )
    failed = sum(n for (_, _, status), n in load.seen.items() if status != 200)
    say(f"load       {sum(load.seen.values())} requests, {failed} failed: {answered}")


def _ab_test(url: str, endpoint: dict, model: str, tuned: int, untuned: int, data) -> None:
    from ray_apps.experiments import ab_readout

    console.rule("[bold]A/B test: both versions at 50/50 on labelled traffic")
    capture = Path(endpoint["capture"]["path"])
    weights = {"untuned": 50.0, "tuned": 50.0}
    variants = [
        {"name": "untuned", "model": f"{model}:{untuned}", "weight": 50},  # serves already
        {
            "name": "tuned",
            "model": f"{model}:{tuned}",
            "weight": 50,
            "num_cpus": 0.25,
            "autoscaling": {"min_replicas": 1, "max_replicas": 1},
        },
    ]
    spec = {k: v for k, v in endpoint.items() if k != "models"}
    deploy({**spec, "variants": variants})
    say(f"variants   untuned = {model}:{untuned} 50, tuned = {model}:{tuned} 50")
    auth = {"Authorization": f"Bearer {os.environ[KEY_ENV]}"}
    admin = {"Authorization": f"Bearer {os.environ[ADMIN_ENV]}"}
    test = data.test.reset_index(drop=True)
    since = datetime.now(UTC)
    labels = []
    with httpx.Client(base_url=url, timeout=30) as http:
        denied = http.get("admin/traffic", headers=auth)
        table = http.get("admin/traffic", headers=admin)
        say(
            f"GET admin/traffic: inference key → {denied.status_code}; admin key → "
            f"{table.status_code} shares {table.json()['shares']}"
        )
        for i, row in test.iterrows():
            r = http.post(
                f"v1/models/{model}:predict",
                headers={**auth, "X-Raymaker-Routing-Key": f"patient-{i}"},
                json={"instances": [row[data.feature_names].tolist()]},
            )
            r.raise_for_status()
            labels.append({"request_id": r.headers["x-request-id"], "label": int(row[data.label])})
        _wait_for_capture(capture, model, since, len(labels))
        posted = http.post(f"v1/models/{model}/labels", headers=auth, json={"labels": labels})
        answer = posted.json()
        say(
            f"{len(labels)} held-out rows sent with X-Raymaker-Routing-Key patient-<i>; labels "
            f"POST v1/models/{model}/labels → {posted.status_code} accepted {answer['accepted']}"
        )
    readout = ab_readout(
        capture, model, metric="accuracy", weights=weights, control="untuned", since=since
    )
    say(readout.render())


def _wait_for_capture(capture: Path, model: str, since: datetime, rows: int) -> None:
    """Labels match request ids already captured: wait until the replicas flushed them."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if len(read_capture(capture, model, since=since)) >= rows:
            return
        time.sleep(0.5)
    raise RuntimeError(f"{rows} captured rows of {model} since {since} did not appear in 30 s")


def main() -> int:
    from ray_apps import load_train_spec, run_training
    from serve.ingress import use_fast_ingress

    console.print(use_fast_ingress())  # before Ray starts: local Ray passes it on to Serve
    here = Path(__file__).resolve().parent
    runs = []
    for rounds, depth in ((20, 4), (10, 2)):
        spec = load_train_spec(here / "train_xgboost.yaml").model_dump()
        spec["hyperparameters"] = {"rounds": rounds, "params": {"max_depth": depth, "eta": 0.2}}
        spec["checkpoint"] = {"every": 10, "keep": 1}
        runs.append(run_training(spec))
    stable = registry.register(runs[0].artifact_path, "cancer", description="demo")
    registry.approve("cancer", stable.version, by="demo", reason="demo_rollout.py")
    rollout_demo(stable.version, runs[1].artifact_path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
