"""Injected faults of a variant (``FaultSpec``), applied where its replicas answer forwarded
requests: a drill exercises the real path — the hop, the counting, the rollout's guardrails."""

from __future__ import annotations

import asyncio
import random
from typing import Any

from serve.config import FaultSpec

_rng = random.Random()


async def inject(fault: FaultSpec, request_id: str) -> tuple[int, Any, dict[str, str]] | None:
    """Wait the injected delay; return the injected error answer, or None to answer normally."""
    if fault.delay_ms > 0 and _rng.random() * 100 < fault.delay_percent:
        await asyncio.sleep(fault.delay_ms / 1000)
    if fault.abort_percent > 0 and _rng.random() * 100 < fault.abort_percent:
        message = f"injected fault (fault.abort_percent {fault.abort_percent:g}), {request_id}"
        return fault.abort_status, {"error": message}, {"x-request-id": request_id}
    return None
