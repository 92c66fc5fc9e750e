"""Which steps of a run may start now: a pure function of the graph and the steps' states.

A step starts once every step it depends on is done (succeeded, taken from the cache, or
skipped). A skipped step skips its dependents (their inputs would name outputs that were never
made); a failed step blocks them, and the run fails once nothing else can start. The runner
(``pipelines.runner``) owns the clock, Ray and the record; this module decides.
"""

from __future__ import annotations

from collections.abc import Mapping

from pipelines.graph import Graph

PENDING, RUNNING, SUCCEEDED, CACHED = "pending", "running", "succeeded", "cached"
SKIPPED, FAILED, BLOCKED = "skipped", "failed", "blocked"
DONE = frozenset({SUCCEEDED, CACHED, SKIPPED})
FINAL = DONE | {FAILED, BLOCKED}


def startable(graph: Graph, states: Mapping[str, str]) -> list[str]:
    """Pending steps whose dependencies are all done (none skipped), in the graph's order."""
    return [
        s
        for s in graph.order
        if states[s] == PENDING
        and all(states[u] in DONE for u in graph.upstream[s])
        and not any(states[u] == SKIPPED for u in graph.upstream[s])
    ]


def to_skip(graph: Graph, states: Mapping[str, str]) -> list[str]:
    """Pending steps that depend on a skipped step."""
    return [
        s
        for s in graph.order
        if states[s] == PENDING and any(states[u] == SKIPPED for u in graph.upstream[s])
    ]


def to_block(graph: Graph, states: Mapping[str, str]) -> list[str]:
    """Pending steps that depend on a failed or blocked step: they can never run."""
    return [
        s
        for s in graph.order
        if states[s] == PENDING and any(states[u] in (FAILED, BLOCKED) for u in graph.upstream[s])
    ]


def outcome(states: Mapping[str, str]) -> str | None:
    """``succeeded`` or ``failed`` once every step is final; None while any may still run."""
    if any(v not in FINAL for v in states.values()):
        return None
    return FAILED if any(v in (FAILED, BLOCKED) for v in states.values()) else SUCCEEDED
