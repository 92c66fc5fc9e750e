"""An endpoint's traffic as the serving code keeps it, from its traffic store
(``serve.traffic.store``), through the store's own API and types: the traffic table (variants,
their weights and the shadow), the per-variant statistics the replicas report every second,
and the rollout's record with the guardrails' readings.

The readings of a running rollout are those of the decision its controller would take now
(``serve.rollout.controller.preview``: the same observations and the same pure ``decide``,
nothing recorded or applied); an ended rollout shows its last recorded decision's. A SQLite
store that does not exist yet is not created here: nothing was deployed with variants.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ray_apps.errors import NotFoundError
from serve.rollout.spec import Guardrails, RolloutSpec
from serve.traffic.stats import VariantStats
from serve.traffic.store import TrafficStore

WINDOW_S = 300.0  # the statistics shown: the last five minutes the replicas reported


class TrafficStores:
    """One ``TrafficStore`` (an engine) per URL for the console's life."""

    def __init__(self) -> None:
        self._stores: dict[str, TrafficStore] = {}
        self._lock = threading.Lock()

    def get(self, url: str) -> TrafficStore | None:
        """The store at ``url``; None while a SQLite store has no file."""
        import sqlalchemy as sa

        parsed = sa.engine.make_url(url)
        on_disk = parsed.get_backend_name() == "sqlite" and parsed.database not in (
            None,
            "",
            ":memory:",
        )
        if on_disk and not Path(parsed.database).exists():
            return None
        with self._lock:
            if url not in self._stores:
                self._stores[url] = TrafficStore(url)
            return self._stores[url]


@dataclass(frozen=True)
class VariantView:
    name: str
    model: str
    version: int
    app: str  # the Serve application whose replicas answer it
    weight: float
    share: float  # percent of the callers' requests
    shadow: bool  # receives a copy of requests, answers no caller
    stats: VariantStats  # reported over the last ``window_s``

    @property
    def p50_ms(self) -> float | None:
        return self.stats.quantile_ms(0.5)

    @property
    def p99_ms(self) -> float | None:
        return self.stats.quantile_ms(0.99)


@dataclass(frozen=True)
class GuardrailReading:
    name: str
    value: float | int | None  # what the step observed
    limit: float | int | None  # None: not judged (yet: too few requests)
    op: str = "≤"  # the value must stay at or below the limit (≤) or reach it (≥)
    bound: float | None = None  # the anytime-valid lower bound that is compared instead
    breached: bool = False

    @property
    def state(self) -> str:
        """breached | within (a ≤ limit) | met / not yet (a ≥ limit) | – (not judged)."""
        if self.breached:
            return "breached"
        if self.limit is None or self.value is None:
            return "–"
        if self.op == "≥":
            return "met" if self.value >= self.limit else "not yet"
        return "within"


@dataclass(frozen=True)
class RolloutView:
    spec: RolloutSpec
    stable: str  # the stable variant's name
    status: str  # running | holding | promoted | rolled_back | aborted
    step: int
    reason: str  # the recorded state's
    started_at: float
    next_action: str | None  # what the next tick would do (live only); None once ended
    next_reason: str | None
    readings: list[GuardrailReading]
    history: list[dict[str, Any]]  # every recorded decision, oldest first

    @property
    def percents(self) -> list[float]:
        return self.spec.percents()


@dataclass(frozen=True)
class EndpointTraffic:
    name: str
    updated_at: float | None
    updated_by: str | None
    deployed: dict[str, Any] | None  # the endpoint spec the last deploy recorded
    variants: list[VariantView]  # empty for an endpoint of one version
    shadow: str | None
    shadow_percent: float
    rollout: RolloutView | None
    window_s: float


def endpoint_traffic(
    store: TrafficStore, name: str, now: float, *, live: bool = True, window_s: float = WINDOW_S
) -> EndpointTraffic:
    """What the store holds of endpoint ``name`` at ``now``; NotFoundError if nothing.
    ``live=False`` (the endpoints list) reads no statistics and takes a rollout's readings
    from its last recorded decision."""
    stored = store.get(name)
    rollout = _rollout(store, name, now, live)
    if stored is None and rollout is None:
        raise NotFoundError(f"endpoint {name!r} has nothing in the traffic store {store.url}")
    table = stored.table if stored is not None else None
    variants = []
    if table is not None:
        stats = store.stats_since(name, now - window_s, now) if live else {}
        shares = table.shares()
        variants = [
            VariantView(
                v.name,
                v.model,
                v.version,
                v.app,
                table.weights.get(v.name, 0.0),
                shares[v.name],
                v.name == table.shadow,
                stats.get(v.name, VariantStats()),
            )
            for v in table.variants
        ]
    return EndpointTraffic(
        name=name,
        updated_at=stored.updated_at if stored else None,
        updated_by=stored.updated_by if stored else None,
        deployed=stored.spec if stored else None,
        variants=variants,
        shadow=table.shadow if table else None,
        shadow_percent=table.shadow_percent if table else 0.0,
        rollout=rollout,
        window_s=window_s,
    )


def _rollout(store: TrafficStore, name: str, now: float, live: bool) -> RolloutView | None:
    from serve.rollout.controller import preview

    record = store.get_rollout(name)
    if record is None:
        return None
    decision = None
    if live:
        record, decision = preview(name, store=store, now=now)
    spec = RolloutSpec.model_validate(record["spec"])
    history = list(record.get("history", []))
    figures = decision.figures if decision else (history[-1].get("figures") if history else {})
    state = record["state"]
    return RolloutView(
        spec=spec,
        stable=record["stable"],
        status=state["status"],
        step=int(state["step"]),
        reason=state.get("reason", ""),
        started_at=float(record.get("started_at", 0.0)),
        next_action=decision.action if decision else None,
        next_reason=decision.reason if decision else None,
        readings=guardrail_readings(spec.guardrails, figures or {}),
        history=history,
    )


def guardrail_readings(g: Guardrails, f: dict[str, Any]) -> list[GuardrailReading]:
    """The rollout decision's figures beside the limits it compares them with (the rules are
    ``serve.rollout.decision``'s): the candidate's 5xx and 4xx rates with their lower bounds,
    its p99 against the stable's, its requests against ``min_requests``, the bake."""
    if not f:
        return []
    lower_5xx, lower_4xx = f.get("candidate_5xx_lower"), f.get("candidate_4xx_lower")
    limit_4xx = f.get("candidate_4xx_limit")
    p99, p99_limit = f.get("candidate_p99_ms"), f.get("p99_limit_ms")
    return [
        GuardrailReading(
            "candidate 5xx rate",
            f.get("candidate_5xx_rate"),
            g.max_error_rate,
            bound=lower_5xx,
            breached=lower_5xx is not None and lower_5xx > g.max_error_rate,
        ),
        GuardrailReading(
            "candidate 4xx rate",
            f.get("candidate_4xx_rate"),
            limit_4xx,
            bound=lower_4xx,
            breached=limit_4xx is not None and lower_4xx is not None and lower_4xx > limit_4xx,
        ),
        GuardrailReading(
            "candidate p99 ms",
            p99,
            p99_limit,
            breached=p99 is not None and p99_limit is not None and p99 > p99_limit,
        ),
        GuardrailReading("stable p99 ms", f.get("stable_p99_ms"), None),
        GuardrailReading("candidate requests", f.get("candidate_requests"), g.min_requests, "≥"),
        GuardrailReading("stable requests", f.get("stable_requests"), None),
        GuardrailReading("step elapsed s", f.get("elapsed_s"), f.get("bake_s"), "≥"),
    ]
