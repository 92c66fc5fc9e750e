"""Runs a rollout: the durable record, the loop around ``decide``, and the calls that apply it.

    from serve.rollout import controller
    controller.start_rollout({"endpoint": "fair-ep", "candidate": "fair:5", "bake_s": 60})
    controller.run_rollout("fair-ep", on_decision=print)   # until promoted or rolled back

The record (spec, state, the endpoint spec before the rollout, every decision) lives in the
traffic store beside the endpoint's traffic table. Each decision is written there *before* the
split it implies is applied, and applying a split is idempotent; so a controller killed at any
point is resumed by ``run_rollout`` (``raymaker rollout resume``), which first re-applies the
recorded split: traffic is never left at a split the record does not name.

Applying, through the endpoint's own surfaces: the candidate joins the endpoint as a variant
with weight 0 (its own Serve application, ``serve.deploy.deploy``); each step sets the weights
in the store (replicas take them within a second); promotion sends all traffic to the candidate,
then redeploys the endpoint with its first variant serving the candidate's version (a
lightweight reconfigure: replicas load it beside the old one and swap) and the candidate's
application removed; a rollback sets the stable to 100 % at once, then removes the candidate.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from ray_apps.errors import NotFoundError, SpecError
from serve.rollout.decision import Decision, Observations, RolloutState, decide, start
from serve.rollout.spec import RolloutSpec, parse_rollout_spec
from serve.traffic.store import TrafficStore

ACTIVE = ("running", "holding")
TICK_S = 1.0


def store_for(endpoint_spec: dict[str, Any] | None = None) -> TrafficStore:
    """The traffic store an endpoint uses (its spec's ``traffic_store_url`` or the default)."""
    from serve.traffic.store import open_store

    return open_store((endpoint_spec or {}).get("traffic_store_url"))


def start_rollout(
    spec: RolloutSpec | dict[str, Any] | str,
    *,
    store: TrafficStore | None = None,
    now: float | None = None,
) -> dict[str, Any]:
    """Check, add the candidate beside the stable, record the first step and apply it."""
    from ray_apps import registry

    spec = parse_rollout_spec(spec)
    store = store or store_for()
    stored = store.get(spec.endpoint)
    if stored is None or stored.spec is None:
        raise NotFoundError(
            f"endpoint {spec.endpoint!r} has no recorded spec in {store.url}; deploy it with "
            "raymaker deploy (or serve.deploy) first"
        )
    current = store.get_rollout(spec.endpoint)
    if current is not None and current["state"]["status"] in ACTIVE:
        raise SpecError(
            f"endpoint {spec.endpoint} already has a rollout of {current['spec']['candidate']} "
            f"({current['state']['status']}); resume it (raymaker rollout resume "
            f"{spec.endpoint}) or abort it (raymaker rollout abort {spec.endpoint})"
        )
    before = stored.spec
    variants = _variants(before)
    stable = variants[0]
    if stable["model"].partition(":")[0] != spec.model:
        raise SpecError(
            f"candidate {spec.candidate} is not a version of {stable['model']}, which endpoint "
            f"{spec.endpoint} serves; roll out a version of the same model"
        )
    if spec.variant in (v["name"] for v in variants):
        raise SpecError(
            f"endpoint {spec.endpoint} already has a variant {spec.variant!r}; name the "
            "candidate's variant otherwise (variant: …) or remove that variant first"
        )
    # The approval rules stand: only an Approved version is rolled out.
    mv = registry.get_version(spec.model, spec.version, tracking_uri=before.get("tracking_uri"))
    if mv.status != "Approved":
        raise SpecError(
            f"{spec.candidate} is {mv.status}; only Approved versions are rolled out: "
            f"raymaker registry approve {spec.candidate} --by <you> --reason <why>"
        )
    now = time.time() if now is None else now
    first = start(spec, now)
    record = {
        "spec": spec.model_dump(mode="json", exclude_unset=True),  # validates back as given
        "state": asdict(first.state),
        "stable": stable["name"],
        "before": before,
        "started_at": now,
        "history": [_entry(first, now)],
    }
    _deploy(_with_candidate(before, spec))  # the candidate at weight 0, its replicas ready
    store.put_rollout(spec.endpoint, record)  # the record first, then the split it names
    _set_split(store, spec, record, first.candidate_percent)
    return record


def run_rollout(
    endpoint: str,
    *,
    store: TrafficStore | None = None,
    tick_s: float = TICK_S,
    on_decision: Callable[[dict[str, Any]], None] | None = None,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """Tick until the rollout is promoted, rolled back or aborted; returns the final record.
    Resumes a rollout another controller left: the recorded split is re-applied first."""
    store = store or store_for()
    record = _record(store, endpoint)
    spec = RolloutSpec.model_validate(record["spec"])
    if record["state"]["status"] in ACTIVE:
        state = RolloutState(**record["state"])
        _set_split(store, spec, record, spec.percents()[state.step])
    last = None
    while True:
        record = _record(store, endpoint)  # an abort from another process ends the loop
        state = RolloutState(**record["state"])
        if state.status not in ACTIVE:
            _finish(store, spec, record)
            return record
        now = clock()
        decision = decide(spec, state, _observe(store, spec, record, state, now), now)
        changed = decision.action not in ("wait",) or decision.state.status != state.status
        if changed and not (decision.action == "hold" and state.status == "holding"):
            record["state"] = asdict(decision.state)
            record["history"].append(_entry(decision, now))
            store.put_rollout(endpoint, record)  # recorded first, then applied
            if decision.action in ("advance", "hold"):
                _set_split(store, spec, record, decision.candidate_percent)
        if on_decision is not None and decision.reason != last:
            on_decision(
                {
                    "action": decision.action,
                    "reason": decision.reason,
                    "percent": decision.candidate_percent,
                    "figures": decision.figures,
                }
            )
            last = decision.reason
        if decision.state.status not in ACTIVE:
            continue  # _finish applies promotion or rollback
        sleep(tick_s)


def abort_rollout(endpoint: str, *, reason: str, store: TrafficStore | None = None) -> dict:
    """Roll back now: the stable takes all traffic, the candidate is removed."""
    store = store or store_for()
    record = _record(store, endpoint)
    spec = RolloutSpec.model_validate(record["spec"])
    if record["state"]["status"] in ACTIVE:
        why = f"aborted: {reason}"
        record["state"] = {**record["state"], "status": "aborted", "reason": why}
        record["history"].append(
            {"at": time.time(), "action": "abort", "percent": 0.0, "reason": why, "figures": {}}
        )
        store.put_rollout(endpoint, record)
    _finish(store, spec, record)
    return record


def rollout_status(endpoint: str, *, store: TrafficStore | None = None) -> dict[str, Any]:
    return _record(store or store_for(), endpoint)


def preview(
    endpoint: str, *, store: TrafficStore | None = None, now: float | None = None
) -> tuple[dict[str, Any], Decision | None]:
    """The record, and the decision a tick would take at ``now`` on what the step observed so
    far: its ``figures`` are the guardrails' live readings. Nothing is recorded or applied;
    None once the rollout has ended (its last history entry holds the final readings)."""
    store = store or store_for()
    record = _record(store, endpoint)
    state = RolloutState(**record["state"])
    if state.status not in ACTIVE:
        return record, None
    spec = RolloutSpec.model_validate(record["spec"])
    now = time.time() if now is None else now
    return record, decide(spec, state, _observe(store, spec, record, state, now), now)


# -- applying ---------------------------------------------------------------------------------
def _finish(store: TrafficStore, spec: RolloutSpec, record: dict[str, Any]) -> None:
    """Bring the endpoint to what a terminal record says (idempotent: safe to repeat)."""
    status = record["state"]["status"]
    if record.get("applied") == status:
        return
    if status == "promoted":
        _set_split(store, spec, record, 100.0)  # all traffic on the candidate's replicas ...
        _deploy(_promoted(record["before"], spec))  # ... while the stable loads its version
    else:
        _set_split(store, spec, record, 0.0)  # the stable takes everything at once ...
        _deploy(record["before"])  # ... then the candidate's replicas go
    record["applied"] = status
    store.put_rollout(spec.endpoint, record)


def _set_split(store: TrafficStore, spec: RolloutSpec, record: dict, percent: float) -> None:
    stable, cand = record["stable"], spec.variant

    def edit(table):
        if cand not in table.names:
            return table  # the candidate is gone already (a finished rollout, repeated)
        others = [n for n in table.names if n not in (stable, cand)]
        weights = {stable: 100.0 - percent, cand: percent, **{n: 0.0 for n in others}}
        if percent >= 100.0:
            weights[stable] = 0.0
        return table.with_weights(weights) if table.shadow != cand else table

    store.change(spec.endpoint, edit, by=f"rollout {spec.candidate}")


def _observe(store, spec, record, state: RolloutState, now: float) -> Observations:
    from ray_apps import registry
    from serve.traffic.stats import VariantStats

    stats = store.stats_since(spec.endpoint, state.step_started_at, now)
    uri = record["before"].get("tracking_uri")
    try:
        status = registry.get_version(spec.model, spec.version, tracking_uri=uri).status
    except NotFoundError:
        status = "Deleted"
    return Observations(
        candidate=stats.get(spec.variant, VariantStats()),
        stable=stats.get(record["stable"], VariantStats()),
        candidate_registry_status=status,
        alerts=_monitor_alerts(spec, state.step_started_at),
    )


def _monitor_alerts(spec: RolloutSpec, since: float) -> tuple[str, ...]:
    """Violations monitors of the candidate's version decided during this step."""
    from datetime import UTC, datetime

    from ray_apps import settings
    from ray_apps.monitoring.verdicts import violations_since

    if not spec.guardrails.on_alert:
        return ()
    root = spec.monitor_reports or str(settings.home() / "monitor")
    started = datetime.fromtimestamp(since, UTC)
    return tuple(violations_since(root, spec.model, spec.version, started))


def _deploy(endpoint_spec: dict[str, Any]) -> None:
    from serve.deploy import deploy

    spec = {k: v for k, v in endpoint_spec.items() if k != "_http"}
    deploy(spec, **_http(endpoint_spec))


def _http(endpoint_spec: dict[str, Any]) -> dict[str, Any]:
    """The endpoint keeps the host and port Serve already runs with."""
    return {k: v for k, v in endpoint_spec.get("_http", {}).items() if k in ("host", "port")}


def _variants(endpoint_spec: dict[str, Any]) -> list[dict[str, Any]]:
    if endpoint_spec.get("variants"):
        return [dict(v) for v in endpoint_spec["variants"]]
    if isinstance(endpoint_spec.get("models"), dict):
        raise SpecError(
            f"endpoint {endpoint_spec.get('name')!r} serves a model set: each of its models is "
            "served at its newest Approved version, so approving a version rolls it out there "
            "(from the replicas' next registry check); a guarded rollout moves ONE model's "
            "traffic between versions: serve that model from an endpoint of its own"
        )
    (model,) = endpoint_spec["models"]
    ref = model["name"] if model.get("version") is None else f"{model['name']}:{model['version']}"
    return [{"name": "stable", "model": ref, "weight": 1.0, "force": model.get("force", False)}]


def _with_candidate(before: dict[str, Any], spec: RolloutSpec) -> dict[str, Any]:
    variants = _variants(before)
    candidate = {
        "name": spec.variant,
        "model": spec.candidate,
        "weight": 0.0,
        "replicas": spec.replicas,
    }
    if spec.num_cpus is not None:
        candidate["num_cpus"] = spec.num_cpus
    if spec.autoscaling is not None:
        candidate["autoscaling"] = spec.autoscaling.model_dump()
    if spec.fault is not None:
        candidate["fault"] = spec.fault.model_dump()
    out = {k: v for k, v in before.items() if k != "models"}
    return {**out, "variants": [*variants, candidate]}


def _promoted(before: dict[str, Any], spec: RolloutSpec) -> dict[str, Any]:
    """The endpoint after promotion: its first variant (or its one model, for an endpoint
    that had no variants before) serves the candidate's version."""
    if not before.get("variants"):
        (model,) = before["models"]
        models = [{**model, "version": spec.version, "force": False}]
        return {**before, "models": models}
    variants = _variants(before)
    variants[0] = {**variants[0], "model": spec.candidate, "force": False}
    out = {k: v for k, v in before.items() if k != "models"}
    return {**out, "variants": variants}


def _record(store: TrafficStore, endpoint: str) -> dict[str, Any]:
    record = store.get_rollout(endpoint)
    if record is None:
        raise NotFoundError(
            f"endpoint {endpoint!r} has no rollout; start one: raymaker rollout start "
            f"{endpoint} --candidate <model>:<version>"
        )
    return record


def _entry(d: Decision, now: float) -> dict[str, Any]:
    return {
        "at": now,
        "action": d.action,
        "percent": d.candidate_percent,
        "reason": d.reason,
        "figures": d.figures,
    }
