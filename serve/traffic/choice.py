"""Which variant answers a request, and which one shadows it: a pure function.

In the style of Ray Serve's ``autoscaling_policy``: the table, the request's headers and two
uniform draws in, a ``Choice`` out; the replica supplies the draws (``random.random()``), tests
supply numbers.

- ``X-Raymaker-Target-Variant`` pins a variant (as SageMaker's ``TargetVariant``), any variant,
  weight 0 or not: how a candidate is tried before it gets traffic. An unknown name is a 400.
- A version in the path (``/v2/models/m/versions/5/infer``) pins the variant serving it (one
  no variant serves goes to the first variant, which refuses it with the reason).
- ``X-Raymaker-Routing-Key`` (a user id, a session) replaces the draw by a hash of the key, so
  the same key lands on the same variant while the weights stand (an A/B test does not mix a
  user's experiences); the hash is the same on every replica and across restarts.
- Otherwise the draw picks by cumulative share in variant order.
The shadow is drawn independently of the answer, so the mirrored share is the shadow's percent
of all requests whichever variant answers them; a request answered by the shadow variant
itself (pinned) is not mirrored to it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

from ray_apps.errors import SpecError
from serve.traffic.table import TrafficTable

TARGET_HEADER = "x-raymaker-target-variant"
ROUTING_KEY_HEADER = "x-raymaker-routing-key"
VARIANT_HEADER = "x-raymaker-variant"  # on every answer: the variant that answered


@dataclass(frozen=True)
class Choice:
    answer: str  # the variant that answers the caller
    shadow: str | None = None  # the variant the request is mirrored to, if any
    pinned: bool = False  # chosen by a header or the path, not by the weights


def key_draw(key: str) -> float:
    """A routing key's fixed point in [0, 1): the first 8 bytes of its SHA-256."""
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big") / 2.0**64


def choose(
    table: TrafficTable,
    headers: Mapping[str, str],
    *,
    draw: float,
    shadow_draw: float,
    version: str | None = None,
) -> Choice:
    """The variant answering a request with these (lower-cased) headers; ``draw`` and
    ``shadow_draw`` are uniform in [0, 1)."""
    target = headers.get(TARGET_HEADER)
    pinned = True
    if target is not None:
        if target not in table.names:
            raise SpecError(
                f"{TARGET_HEADER} names {target!r}, which is not a variant of this endpoint; "
                f"its variants are {table.names}"
            )
        answer = target
    elif version is not None:
        # A version no variant serves is answered (refused, with the reason) where it is.
        answer = _serving(table, version) or table.local
    else:
        pinned = False
        key = headers.get(ROUTING_KEY_HEADER)
        answer = _by_weight(table, key_draw(key) if key else draw)
    mirrored = table.shadow is not None and table.shadow != answer
    shadow = table.shadow if mirrored and shadow_draw * 100.0 < table.shadow_percent else None
    return Choice(answer, shadow, pinned)


def _serving(table: TrafficTable, version: str) -> str | None:
    for v in table.variants:
        if str(v.version) == version:
            return v.name
    return None


def _by_weight(table: TrafficTable, u: float) -> str:
    weights = [(n, max(table.weights.get(n, 0.0), 0.0)) for n in table.names]
    total = sum(w for _, w in weights)
    point, acc = u * total, 0.0
    last = table.local
    for name, w in weights:
        if w <= 0:
            continue
        acc += w
        last = name
        if point < acc:
            return name
    return last  # u * total == total by rounding
