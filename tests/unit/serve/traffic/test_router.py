"""The replica's variant router against a real (SQLite) traffic store, without Ray."""

from __future__ import annotations

import asyncio
import time

from serve.traffic.router import VariantRouter
from serve.traffic.stats import StatsAccumulator
from serve.traffic.store import TrafficStore
from serve.traffic.table import TrafficTable, VariantTarget


def _stats(requests: int):
    acc = StatsAccumulator()
    for _ in range(requests):
        acc.observe("prod", 200, 1.0)
    return acc.take()


def test_a_running_router_flushes_its_counts_and_prunes_week_old_reports(tmp_path):
    url = f"sqlite:///{tmp_path / 'traffic.db'}"
    store = TrafficStore(url)
    week_ago = time.time() - 8 * 86400
    store.add_stats("ep", "gone-replica", week_ago, _stats(7))
    table = TrafficTable(
        endpoint="ep",
        deploy_id="d1",
        variants=(
            VariantTarget("prod", "fair", 4, "ep"),
            VariantTarget("cand", "fair", 5, "ep--cand"),
        ),
        weights={"prod": 1.0, "cand": 0.0},
    )
    router = VariantRouter(table, "prod", store_url=url, replica="r1")
    router.observe("prod", 200, 2.0)

    def prod_requests() -> int | None:
        found = store.stats_since("ep", week_ago - 1).get("prod")
        return None if found is None else found.requests

    async def run_a_while():
        task = asyncio.create_task(router.run())
        deadline = time.monotonic() + 10
        while prod_requests() != 1 and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        task.cancel()

    asyncio.run(run_a_while())
    # The week-old report is gone; this replica's count arrived.
    assert prod_requests() == 1
