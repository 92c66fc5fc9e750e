"""Guarded rollouts: move an endpoint's traffic from its stable version to a candidate.

    from serve.rollout import decide, parse_rollout_spec, start

    spec = parse_rollout_spec({"endpoint": "fairness", "candidate": "fair:5"})
    d = start(spec, now)                       # the candidate at 10 %, baking
    d = decide(spec, d.state, observations, now)   # each tick: wait | hold | advance | promote
                                                   # | rollback, and the split to apply

``spec`` (the validated plan), ``decision`` (the pure per-tick decision and its rules).
"""

from serve.rollout.decision import (
    Decision,
    Observations,
    RolloutState,
    decide,
    rate_lower_bound,
    start,
)
from serve.rollout.spec import Guardrails, RolloutSpec, parse_rollout_spec

__all__ = [
    "Decision",
    "Guardrails",
    "Observations",
    "RolloutSpec",
    "RolloutState",
    "decide",
    "parse_rollout_spec",
    "rate_lower_bound",
    "start",
]
