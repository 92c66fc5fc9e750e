"""The admin surface of an endpoint's traffic: read the table, change weights or the shadow.

    GET  /admin/traffic                         → the table, each variant's share in percent
    POST /admin/traffic  {"weights": {"prod": 90, "cand": 10}}
    POST /admin/traffic  {"shadow": {"variant": "cand", "percent": 50}}   (null: stop)

An admin credential only (an inference key gets 403). The change is written to the traffic
store in one transaction, taken by this replica at once and by every other within a second
(``serve.traffic.store.REFRESH_S``); no replica restarts, no request is dropped.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from ray_apps.errors import NotFoundError, SpecError
from serve.traffic.router import VariantRouter
from serve.traffic.table import TrafficTable


def show(router: VariantRouter | None) -> dict[str, Any]:
    router = _need(router)
    return describe(router.table)


def describe(table: TrafficTable) -> dict[str, Any]:
    """The table as the admin route and ``raymaker traffic show`` print it."""
    return {**table.to_json(), "shares": table.shares()}


async def change(router: VariantRouter | None, body: bytes, by: str = "admin-route") -> dict:
    router = _need(router)
    try:
        data = json.loads(body or b"{}")
    except ValueError as err:
        raise SpecError(f'the body is not JSON ({err}); send {{"weights": {{...}}}}') from err
    if (
        not isinstance(data, dict)
        or not set(data) & {"weights", "shadow"}
        or set(data)
        - {
            "weights",
            "shadow",
        }
    ):
        raise SpecError(
            'send {"weights": {"<variant>": <weight>, …}} and/or {"shadow": {"variant": '
            '"<name>", "percent": <0-100>} | null}'
        )

    def edit(table: TrafficTable) -> TrafficTable:
        # Stopping a shadow comes first, so one call may stop it and give that variant weight.
        if "shadow" in data and data["shadow"] is None:
            table = table.with_shadow(None)
        if "weights" in data:
            if not isinstance(data["weights"], dict):
                raise SpecError('"weights" must be an object {"<variant>": <weight>}')
            table = table.with_weights(data["weights"])
        if "shadow" in data:
            shadow = data["shadow"]
            if shadow is None:
                pass
            elif (
                isinstance(shadow, dict)
                and isinstance(shadow.get("variant"), str)
                and set(shadow) <= {"variant", "percent"}
                and _number(shadow.get("percent", 100))
            ):
                table = table.with_shadow(shadow["variant"], float(shadow.get("percent", 100)))
            else:
                raise SpecError('"shadow" must be {"variant": "<name>", "percent": 0-100} or null')
        return table

    new = await asyncio.to_thread(apply, router, edit, by)
    return describe(new)


def apply(router: VariantRouter, edit, by: str) -> TrafficTable:
    """Change the store's table of the running deploy (the deployed one if it has none yet)."""
    store = router.store()
    if store is None:
        raise NotFoundError("this endpoint has no traffic store; redeploy it with variants")

    def on_current(stored: TrafficTable) -> TrafficTable:
        base = stored if stored.deploy_id == router.deployed.deploy_id else router.deployed
        return edit(base)

    stored = store.get(router.deployed.endpoint)
    if stored is None or stored.table is None:  # deployed from a Serve config file
        spec = stored.spec if stored is not None else None
        store.put(router.deployed.endpoint, router.deployed, by="deploy", spec=spec)
    new = store.change(router.deployed.endpoint, on_current, by=by)
    router.table = new
    return new


def _number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _need(router: VariantRouter | None) -> VariantRouter:
    if router is None:
        raise NotFoundError(
            "this endpoint serves one version and has no variants; deploy it with variants: "
            "[{name: prod, model: m:1}, {name: cand, model: m:2, weight: 10}]"
        )
    return router
