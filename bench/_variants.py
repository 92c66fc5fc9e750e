"""The variant rows of bench/serve_latency.py (issue 16): what variants cost a request.

Four endpoints join the single-version one ("bench", measured above) on the same Ray, each
one replica with its auth and capture; the model is registered a second time (cancer:2 is the
same booster as cancer:1, so a difference is routing, not the model). A variant either shares
the endpoint's replicas (loaded beside prod: answered where the request arrives) or runs in its
own Serve app ("<endpoint>--cand", one replica, 0.25 CPU), reached through a deployment handle:
  single     the single-version endpoint (/)
  ab0        prod 100 / cand 0, cand shared (/ab0): the router's choice, its header and its
             statistics on every request, nothing forwarded
  split      prod 90 / cand 10, cand shared (/split): one hop for both
  shadow     prod 100 / cand 0 on its own replicas, shadow cand 100 % (/shadow): every request
             mirrored after its answer is ready; the caller is answered by prod. A shadow gets
             replicas of its own: shared, it would double the work of prod's.
  split_own  prod 90 / cand 10, cand on its own replicas (/split-own): one request in ten on
             the second hop (not judged: what isolation costs)
  pinned     /split-own with X-Raymaker-Target-Variant: cand: every request on the second hop
ROUNDS rounds; in each, every row at 1 then 8 clients, the order rotated by one per round. A
ratio is taken per round against the single-version row of that round; the median over rounds
is judged, min–max is the spread.

There is no pre-variants build to run beside this one, so "variants cost nothing to those who
do not use them" is judged on ab0: it runs everything variants add to a request (the choice,
the answer header, per-variant statistics, the table refreshed from the store every 0.5 s),
which an endpoint without variants skips (``router is None``). ab0 ≤ 1.10x single bounds it.

Seen on the 2-core box (Ray 2.60, HAProxy): a forwarded request costs about +2-3 ms at one
client and 2.5x the CPU of one answered in place (prod +0.8 ms: Serve's router and gRPC client;
cand 1.5 ms: gRPC server, Serve's replica path, the answer); Serve's own two-deployment hop
costs as much. With RAY_SERVE_USE_GRPC_BY_DEFAULT=0 (actor calls) it is +6.8 ms. So a split to
a candidate on its own replicas gave 0.75x the req/s of one version here (CPU-bound): that is
the price of isolation, and why a variant without replica settings shares the endpoint's.
"""

from __future__ import annotations

import os
import statistics
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from _load import measure

ROUNDS = int(os.environ.get("RAYMAKER_BENCH_VARIANT_ROUNDS", 8))
SECONDS = float(os.environ.get("RAYMAKER_BENCH_VARIANT_SECONDS", 1.5))
WARMUP_S = 0.3  # per row and client count: new connections; the replicas are warm
CLIENTS = (1, 8)
ROWS = ("single", "ab0", "split", "shadow", "split_own", "pinned")
PINNED = {"X-Raymaker-Target-Variant": "cand"}
# (figure, row, measure, clients, op, target): each judged as row / single, same round.
GOALS = (
    ("variants_unused_p50_ratio", "ab0", "p50_ms", 1, "<=", 1.10),
    ("split_90_10_p50_ratio", "split", "p50_ms", 1, "<=", 1.25),
    ("split_90_10_rps_ratio", "split", "rps", 8, ">=", 0.85),
    ("shadow_100_p50_ratio", "shadow", "p50_ms", 1, "<=", 1.15),
)


@dataclass(frozen=True)
class Row:
    url: str
    headers: dict


def deploy_variants(base: dict, artifact: Path, port: int, single_url: str) -> dict[str, Row]:
    """Register cancer:2, deploy ab0, split and shadow beside ``base`` (the single-version
    spec, deployed at ``single_url``); the rows to measure, their routing checked."""
    from ray_apps import registry
    from serve import deploy

    mv = registry.register(artifact, "cancer")
    registry.approve("cancer", mv.version, by="bench", reason="benchmark candidate")
    prod = {"name": "prod", "model": "cancer:1"}
    shared = {"name": "cand", "model": f"cancer:{mv.version}"}
    own = {**shared, "num_cpus": 0.25, "autoscaling": {"min_replicas": 1, "max_replicas": 1}}
    endpoints = {  # row: (cand's placement, prod's weight, cand's weight)
        "ab0": (shared, 100, 0),
        "split": (shared, 90, 10),
        "shadow": (own, 100, 0),
        "split_own": (own, 90, 10),
    }
    urls = {"single": single_url}
    for name, (cand, w_prod, w_cand) in endpoints.items():
        spec = {
            **{k: v for k, v in base.items() if k not in ("models", "capture")},
            "name": name.replace("_", "-"),
            "route_prefix": f"/{name.replace('_', '-')}",
            "num_cpus": 0.5,  # Ray's logical CPUs (4 on this box): the endpoints must fit
            "capture": {**base["capture"], "path": f"{base['capture']['path']}-{name}"},
            "variants": [{**prod, "weight": w_prod}, {**cand, "weight": w_cand}],
        }
        if name == "shadow":
            spec["shadow"] = {"variant": "cand", "percent": 100}
        start = time.perf_counter()
        urls[name] = deploy(spec, port=port).url
        print(f"deployed {name} in {time.perf_counter() - start:.0f} s", flush=True)
    rows = {n: Row(f"{urls[n]}v1/models/cancer:predict", {}) for n in urls}
    rows["pinned"] = Row(rows["split_own"].url, PINNED)
    return rows


def check_routing(rows: dict[str, Row], body: bytes, headers: dict, n: int = 100) -> None:
    """Each row answered by the variant it is meant to be, before anything is measured."""
    import httpx

    want = {
        "single": {None},
        "ab0": {"prod"},
        "split": {"prod", "cand"},
        "shadow": {"prod"},
        "split_own": {"prod", "cand"},
        "pinned": {"cand"},
    }
    with httpx.Client(timeout=30, headers={"Content-Type": "application/json", **headers}) as c:
        for name, row in rows.items():
            seen = Counter()
            for _ in range(n):
                r = c.post(row.url, content=body, headers=row.headers)
                r.raise_for_status()
                seen[r.headers.get("x-raymaker-variant")] += 1
            print(f"routing {name:7s} {dict(seen)}", flush=True)
            if set(seen) != want[name]:
                raise RuntimeError(f"{name} answered by {dict(seen)}; expected {want[name]}")


def run_rounds(rows: dict[str, Row], body: bytes, headers: dict) -> dict:
    """{row: {clients: [Figures per round]}}."""
    out = {name: {n: [] for n in CLIENTS} for name in rows}
    names = list(rows)
    for r in range(ROUNDS):
        order = names[r % len(names) :] + names[: r % len(names)]
        for name in order:
            row = rows[name]
            for n in CLIENTS:
                out[name][n].append(
                    measure(row.url, body, {**headers, **row.headers}, n, SECONDS, WARMUP_S)
                )
        line = "  ".join(
            f"{name} {out[name][1][-1].p50_ms:.2f}/{out[name][8][-1].rps:.0f}" for name in names
        )
        print(f"round {r + 1} (p50 ms @1 / req/s @8): {line}", flush=True)
    return out


def shadow_mirrored(home: Path, since: float, timeout_s: float = 15) -> str:
    """How many requests the shadow endpoint's replicas mirrored (their last flush polled)."""
    from serve.traffic.store import TrafficStore, default_url

    store = TrafficStore(default_url(str(home)))
    deadline = time.monotonic() + timeout_s
    while True:
        stats = store.stats_since("shadow", since)
        prod, cand = stats.get("prod"), stats.get("cand")
        mirrored = cand.requests if cand else 0
        if (prod and mirrored >= prod.requests) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    errors = (cand.errors_5xx + cand.errors_4xx) if cand else 0
    return (
        f"shadow: {mirrored} requests mirrored to cand ({errors} failed) for "
        f"{prod.requests if prod else 0} answered by prod"
    )


def _ratios(out: dict, name: str, key: str, n: int) -> list[float]:
    mine, base = out[name][n], out["single"][n]
    return [getattr(a, key) / getattr(b, key) for a, b in zip(mine, base, strict=True)]


def _spread(values: list[float], fmt: str = ".2f") -> str:
    return f"{statistics.median(values):{fmt}} ({min(values):{fmt}}–{max(values):{fmt}})"


def report(out: dict) -> int:
    """Print the table and the RESULT lines; the number of goals missed."""
    print(f"\nvariants: {ROUNDS} rounds, {SECONDS:g} s per row; median (min–max) over rounds")
    print(f"{'row':10s} {'p50 ms @1':>20s} {'p50 ms @8':>20s} {'req/s @8':>20s}  errors")
    for name in out:
        cells = [
            _spread([f.p50_ms for f in out[name][1]]),
            _spread([f.p50_ms for f in out[name][8]]),
            _spread([f.rps for f in out[name][8]], ".0f"),
        ]
        errors = sum(f.errors for n in CLIENTS for f in out[name][n])
        print(f"{name:10s} " + " ".join(f"{c:>20s}" for c in cells) + f"  {errors}")
    print("\nratios to the single-version endpoint, same round: median (min–max)")
    for name in ROWS[1:]:
        print(
            f"  {name:7s} p50@1 {_spread(_ratios(out, name, 'p50_ms', 1))}  "
            f"p50@8 {_spread(_ratios(out, name, 'p50_ms', 8))}  "
            f"req/s@8 {_spread(_ratios(out, name, 'rps', 8))}"
        )
    pinned = statistics.median(_ratios(out, "pinned", "p50_ms", 1))
    extra = statistics.median(
        a.p50_ms - b.p50_ms for a, b in zip(out["pinned"][1], out["single"][1], strict=True)
    )
    print(
        f"second hop alone (pinned to its own replicas) p50 = {pinned:.2f}x single "
        f"(+{extra:.2f} ms)"
    )
    missed = 0
    for figure, name, key, n, op, target in GOALS:
        value = statistics.median(_ratios(out, name, key, n))
        ok = value <= target if op == "<=" else value >= target
        missed += not ok
        print(f"RESULT {figure} {value:.3f} goal {op} {target} {'PASS' if ok else 'MISS'}")
    return missed
