"""Benchmark: asynchronous inference at a queue depth of 100, against real-time calls.

    flock /tmp/raymaker-ray.lock .venv/bin/python bench/async_latency.py

One XGBoost model (breast cancer, 30 features), one endpoint (API key, data capture on), one run
of ROUNDS rounds; each round, in turn:
  realtime  100 concurrent one-row V1 :predict calls (the latency a caller waits for an answer)
  async     100 concurrent :predict-async submits (202 + status URL), then every status URL
            polled until all 100 have succeeded: submit latency, and end to end (submit → seen
            succeeded, polled every POLL_S) per request, and the time to drain all 100
The consumer is woken from zero once before the rounds (its cold start is reported apart).
Goal: accepting a request costs no more than answering it — async submit p50 <= real-time p50
at the same depth (the RESULT line; median over rounds). The other figures are reported.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE)]

from serve_latency import free_port, make_artifact  # noqa: E402

ROUNDS = int(os.environ.get("RAYMAKER_BENCH_ROUNDS", 3))
DEPTH = 100
POLL_S = 0.05
KEY = "bench-key"


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def realtime(http, body: dict) -> list[float]:
    async def one() -> float:
        start = time.perf_counter()
        reply = await http.post("v1/models/cancer:predict", json=body)
        reply.raise_for_status()
        return time.perf_counter() - start

    return list(await asyncio.gather(*(one() for _ in range(DEPTH))))


async def asynchronous(http, body: dict) -> tuple[list[float], list[float], float]:
    began = time.perf_counter()

    async def submit() -> tuple[float, float, str]:
        start = time.perf_counter()
        reply = await http.post("v1/models/cancer:predict-async", json=body)
        if reply.status_code != 202:
            raise RuntimeError(f"submit answered {reply.status_code}: {reply.text}")
        return start, time.perf_counter() - start, reply.json()["status_url"]

    tickets = await asyncio.gather(*(submit() for _ in range(DEPTH)))
    done: dict[int, float] = {}
    deadline = time.monotonic() + 240
    while len(done) < DEPTH:
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {len(done)} of {DEPTH} async requests answered in 240 s")
        pending = [i for i in range(DEPTH) if i not in done]
        states = await asyncio.gather(*(http.get(tickets[i][2]) for i in pending))
        now = time.perf_counter()
        for i, state in zip(pending, states, strict=True):
            status = state.json()["status"]
            if status == "failed":
                raise RuntimeError(f"async request failed: {state.json()}")
            if status == "succeeded":
                done[i] = now - tickets[i][0]
        await asyncio.sleep(POLL_S)
    return [t[1] for t in tickets], list(done.values()), time.perf_counter() - began


async def rounds(url: str, body: dict) -> dict[str, list[float]]:
    import httpx

    limits = httpx.Limits(max_connections=DEPTH, max_keepalive_connections=DEPTH)
    headers = {"Authorization": f"Bearer {KEY}"}
    out: dict[str, list[float]] = {k: [] for k in ("rt50", "rt99", "s50", "s99", "e50", "e99")}
    out["drain"] = []
    async with httpx.AsyncClient(base_url=url, headers=headers, limits=limits, timeout=120) as http:
        start = time.perf_counter()
        _, e2e, _ = await _one_async(http, body)
        print(f"consumer cold start (0 → 1 replica, one request): {e2e:.1f} s", flush=True)
        print(f"warm-up done in {time.perf_counter() - start:.1f} s", flush=True)
        for r in range(ROUNDS):
            rt = await realtime(http, body)
            sub, e2e_all, drain = await asynchronous(http, body)
            row = {
                "rt50": pct(rt, 0.5),
                "rt99": pct(rt, 0.99),
                "s50": pct(sub, 0.5),
                "s99": pct(sub, 0.99),
                "e50": pct(e2e_all, 0.5),
                "e99": pct(e2e_all, 0.99),
                "drain": drain,
            }
            for k, v in row.items():
                out[k].append(v)
            print(
                f"round {r + 1}: realtime p50 {row['rt50'] * 1e3:.0f} ms p99 "
                f"{row['rt99'] * 1e3:.0f} ms | submit p50 {row['s50'] * 1e3:.0f} ms p99 "
                f"{row['s99'] * 1e3:.0f} ms | end to end p50 {row['e50']:.2f} s p99 "
                f"{row['e99']:.2f} s | {DEPTH} drained in {drain:.2f} s",
                flush=True,
            )
    return out


async def _one_async(http, body: dict) -> tuple[float, float, float]:
    start = time.perf_counter()
    ticket = (await http.post("v1/models/cancer:predict-async", json=body)).json()
    while (await http.get(ticket["status_url"])).json()["status"] != "succeeded":
        await asyncio.sleep(0.2)
    return 0.0, time.perf_counter() - start, 0.0


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="raymaker-bench-") as tmp:
        folder = Path(tmp)
        os.environ["RAYMAKER_HOME"] = str(folder / "home")
        os.environ.pop("MLFLOW_TRACKING_URI", None)
        artifact = make_artifact(folder)
        from ray import serve as ray_serve

        from ray_apps import registry
        from ray_apps.data import load_dataset
        from ray_apps.spec import DatasetSpec
        from serve import deploy
        from serve.ingress import use_fast_ingress

        print(use_fast_ingress(), flush=True)  # before Ray starts: local Ray inherits it
        data = load_dataset(DatasetSpec(source="sklearn:breast_cancer"))
        body = {"instances": [[float(v) for v in data.test[data.feature_names].iloc[0]]]}
        mv = registry.register(artifact, "cancer")
        registry.approve("cancer", mv.version, by="bench", reason="benchmark")
        os.environ["RAYMAKER_BENCH_KEYS"] = KEY
        spec = {
            "name": "bench-async",
            "models": [{"name": "cancer"}],
            "auth": {"api_key_envs": ["RAYMAKER_BENCH_KEYS"]},
            "capture": {"percent": 100, "path": str(folder / "capture")},
            "autoscaling": {"min_replicas": 1, "max_replicas": 1},
            "num_cpus": 1,
            "async_inference": {"consumers": {"idle_s": 600}},
        }
        info = deploy(spec, port=free_port())
        try:
            out = asyncio.run(rounds(info.url, body))
        finally:
            ray_serve.shutdown()
    return report(out)


def report(out: dict[str, list[float]]) -> int:
    def line(name: str, key: str, scale: float, unit: str) -> None:
        values = [v * scale for v in out[key]]
        print(
            f"{name:24s} median {statistics.median(values):8.2f} {unit}  "
            f"(spread {min(values):.2f}–{max(values):.2f})"
        )

    print(f"\n{ROUNDS} rounds, queue depth {DEPTH}:")
    line("real-time p50", "rt50", 1e3, "ms")
    line("real-time p99", "rt99", 1e3, "ms")
    line("async submit p50", "s50", 1e3, "ms")
    line("async submit p99", "s99", 1e3, "ms")
    line("async end to end p50", "e50", 1, "s")
    line("async end to end p99", "e99", 1, "s")
    line(f"async drain of {DEPTH}", "drain", 1, "s")
    ratio = statistics.median(s / r for s, r in zip(out["s50"], out["rt50"], strict=True))
    ok = ratio <= 1.0
    print(f"submit p50 / real-time p50 = {ratio:.2f}x (goal <= 1.0)")
    print(f"RESULT submit_p50_over_realtime_p50 {ratio:.3f} goal <= 1.0 {'PASS' if ok else 'MISS'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
