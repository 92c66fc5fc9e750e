"""The one HTTP client of bench/serve_latency.py: N concurrent keep-alive clients (aiohttp)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Figures:
    p50_ms: float
    p99_ms: float
    rps: float
    errors: int


async def _run(
    url: str, body: bytes, headers: dict, clients: int, seconds: float, warmup_s: float
) -> Figures:
    import aiohttp

    lat: list[float] = []
    errors = 0
    first_error: list[str] = []
    hdrs = {"Content-Type": "application/json", **headers}
    conn = aiohttp.TCPConnector(limit=clients, force_close=False)
    async with aiohttp.ClientSession(connector=conn) as session:

        async def one(record: bool) -> None:
            nonlocal errors
            t0 = time.perf_counter()
            async with session.post(url, data=body, headers=hdrs) as r:
                text = await r.read()
                ok = r.status == 200
            if not ok and not first_error:
                first_error.append(f"{r.status} {text[:300]!r}")
            if record:
                if ok:
                    lat.append(time.perf_counter() - t0)
                else:
                    errors += 1

        async def worker(until: float, record: bool) -> None:
            while time.perf_counter() < until:
                await one(record)

        warm = time.perf_counter() + warmup_s
        await asyncio.gather(*(worker(warm, False) for _ in range(clients)))
        start = time.perf_counter()
        await asyncio.gather(*(worker(start + seconds, True) for _ in range(clients)))
        elapsed = time.perf_counter() - start
    if not lat:
        raise RuntimeError(f"every request to {url} failed; the first: {first_error}")
    ms = np.asarray(lat) * 1000
    return Figures(
        float(np.percentile(ms, 50)), float(np.percentile(ms, 99)), len(lat) / elapsed, errors
    )


def measure(
    url: str, body: bytes, headers: dict, clients: int, seconds: float, warmup_s: float = 1.0
) -> Figures:
    return asyncio.run(_run(url, body, headers, clients, seconds, warmup_s))


def wait_http(url: str, timeout_s: float = 120, alive=lambda: True) -> None:
    """Poll until ``url`` answers 200 (a server started in another process)."""
    import httpx

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and alive():
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer 200 within {timeout_s}s (or its server exited)")
