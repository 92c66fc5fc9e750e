"""One rollout tick: a pure function of the spec, the state, the observations and the clock.

The caller (the rollout driver) reads the candidate's and the stable's stats for the current
step, the candidate's registry status and the monitor's alerts, calls ``decide`` and applies
the returned ``candidate_percent`` to the endpoint. ``start`` gives the first step. Rules, in
the order they are checked:

1. A terminal state (promoted, rolled_back, aborted) stays: "wait" at 100 % if promoted,
   else 0 %.
2. The candidate must be Approved in the registry: Rejected (or revoked), Pending or anything
   else rolls back at once (the approval rules stand during a rollout too).
3. With ``on_alert``, a monitor alert on the candidate in this step rolls back at once.
4. Guardrails, at any time in the step (not only when the bake ends): a breach rolls back.
   - 5xx: the candidate's anytime-valid lower confidence bound (below) on its 5xx rate is
     above ``max_error_rate``.
   - 4xx: the same bound on the candidate's 4xx rate is above the stable's 4xx point rate +
     ``max_client_error_excess``. The stable carries most of the traffic, so its point rate
     is the reference; it is judged only while the stable has ``min_requests`` in the step
     (at the 100 % step it has none, and only the 5xx guardrail remains).
   - latency: judged once candidate and stable each have ``min_requests`` and at least 100
     requests in the step (a p99 of fewer is nearly their maximum: one cold first request
     would decide); breach when candidate p99 > stable p99 * max_p99_ratio + p99_slack_ms.
5. Bake not over: "wait".
6. Bake over, fewer than ``min_requests`` candidate requests: "hold" (status holding,
   "inconclusive: N of M requests"); once ``max_hold_s`` has passed since the bake ended:
   roll back ("inconclusive for too long"). Without max_hold_s it holds until traffic comes
   or an operator acts.
7. Bake over, enough requests, no breach: the point estimates must pass too — a 5xx rate
   above ``max_error_rate`` (or a 4xx excess above ``max_client_error_excess``) at the end of
   the bake rolls back: a step passes only on what it showed, not for lack of proof of harm.
8. Otherwise "advance" to the next step (step_started_at = now) or, after the 100 % step,
   "promote".

Why an anytime-valid bound, not Wilson's or Clopper–Pearson's: the driver looks at the
counts every tick while they grow, and a fixed-n bound is only valid for one look. Checked
after every request, those bounds roll back healthy candidates on chance: one error in the
first 3 requests puts the one-sided 95 % Clopper–Pearson bound at 1.7 % (above the default
1 %), and Wilson's stays above 1 % for one error in up to 21 requests (it undercovers near
0, where error rates live). The bound used here is the beta-binomial confidence sequence
(Robbins 1970; Howard et al. 2021, "Time-uniform, nonparametric, nonasymptotic confidence
sequences"): with a uniform prior on the rate, the mixture likelihood ratio

    M_n(p0) = B(k + 1, n - k + 1) / (p0**k * (1 - p0)**(n - k))

is a nonnegative martingale under rate p0, so by Ville's inequality the chance that it EVER
reaches 1 / (1 - confidence) is at most 1 - confidence, however often one looks. The lower
bound is the smallest p0 it has not excluded. Computed exactly (tests/unit/serve/rollout):
a candidate exactly at a 1 % limit, judged after each of 1000 requests, is rolled back with
probability 1.7 % (Clopper–Pearson judged as often: 16 % within 300 requests). The price is
width: one error in 3 requests gives 0.42 %, no rollback. The issue's case — 20 % 5xx at
about one candidate request a second (10 % of 10 req/s) — crosses 1 % at 2 errors in 10
requests, stands at 4.5 % with 6 in 30, and is caught within 30 candidate requests with
probability 93 % (within 60: 99.7 %). Smaller excesses (2 % against 1 %) are left to rule 7
at the end of the bake. The guarantee is per step (each step counts afresh), and for the 4xx
rule it treats the stable's rate as known (it has most of the traffic).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Literal

from ray_apps.registry import deployable
from serve.rollout.spec import RolloutSpec
from serve.traffic.stats import VariantStats

Status = Literal["running", "holding", "promoted", "rolled_back", "aborted"]
Action = Literal["wait", "hold", "advance", "promote", "rollback"]
Figures = dict[str, float | int | None]
TERMINAL: tuple[Status, ...] = ("promoted", "rolled_back", "aborted")


@dataclass(frozen=True)
class RolloutState:
    step: int  # index into spec.percents()
    step_started_at: float  # time.time() seconds
    status: Status
    reason: str = ""


@dataclass(frozen=True)
class Observations:
    candidate: VariantStats  # during the current step (since step_started_at)
    stable: VariantStats  # the same window
    candidate_registry_status: str  # "Approved" | "Pending" | "Rejected" ...
    alerts: tuple[str, ...] = ()  # monitor alerts on the candidate in this step


@dataclass(frozen=True)
class Decision:
    action: Action
    state: RolloutState  # after the decision
    candidate_percent: float  # the split the endpoint must have after this decision
    reason: str  # human-readable, with the figures
    figures: Figures  # the numbers behind the reason, for the CLI and JSON


# A p99 over fewer requests is about their maximum: a single cold request would decide it.
P99_MIN_REQUESTS = 100


def rate_lower_bound(count: int, total: int, confidence: float) -> float:
    """Anytime-valid one-sided lower confidence bound on a rate from ``count`` of ``total``.

    The smallest p0 with M_n(p0) < 1 / (1 - confidence) (see the module docstring). log M_n
    falls monotonically in p0 on (0, count/total], so bisection finds it; 0 without errors.
    """
    if not 0 <= count <= total:
        raise ValueError(f"count {count} must lie in 0..total ({total})")
    if count == 0:
        return 0.0
    failures = total - count
    log_mixture = math.lgamma(count + 1) + math.lgamma(failures + 1) - math.lgamma(total + 2)
    # p0 is excluded while count*ln p0 + failures*ln(1 - p0) <= log_mixture - ln(1/alpha).
    target = log_mixture + math.log(1.0 - confidence)

    def log_likelihood(p: float) -> float:
        return count * math.log(p) + (failures * math.log1p(-p) if failures else 0.0)

    lo, hi = 0.0, count / total  # the likelihood peaks at the point rate, above the target
    for _ in range(100):
        mid = (lo + hi) / 2
        if mid in (lo, hi):
            break
        if log_likelihood(mid) <= target:
            lo = mid
        else:
            hi = mid
    return lo


def start(spec: RolloutSpec, now: float) -> Decision:
    """The first step: the candidate at its first percent, baking from ``now``."""
    percents = spec.percents()
    reason = f"step 1 of {len(percents)}: {spec.candidate} at {percents[0]:g}%"
    state = RolloutState(step=0, step_started_at=now, status="running", reason=reason)
    return Decision("advance", state, percents[0], reason, {"step": 0})


def decide(spec: RolloutSpec, state: RolloutState, obs: Observations, now: float) -> Decision:
    """The action this tick and the state after it; the rules are in the module docstring."""
    if state.status in TERMINAL:
        percent = 100.0 if state.status == "promoted" else 0.0
        return Decision("wait", state, percent, state.reason, {})
    percents = spec.percents()
    if not 0 <= state.step < len(percents):
        raise ValueError(f"rollout state step {state.step} is outside the spec's {percents}")
    figures = _figures(spec, state, obs, now)
    why = _stop_now(spec, obs, figures)
    if why:
        return _rollback(spec, state, why, figures)
    elapsed = now - state.step_started_at
    if elapsed < spec.bake_s:
        reason = (
            f"baking step {state.step + 1} of {len(percents)}: {elapsed:.0f}s of {spec.bake_s:g}s"
        )
        percent = percents[state.step]
        return Decision("wait", replace(state, reason=reason), percent, reason, figures)
    if obs.candidate.requests < spec.guardrails.min_requests:
        return _hold(spec, state, obs, elapsed - spec.bake_s, figures)
    why = _point_failure(spec, obs)
    if why:
        return _rollback(spec, state, why, figures)
    return _pass(spec, state, obs, now, figures)


def _rollback(spec: RolloutSpec, state: RolloutState, why: str, figures: Figures) -> Decision:
    reason = f"rolled back {spec.candidate} at {spec.percents()[state.step]:g}%: {why}"
    after = replace(state, status="rolled_back", reason=reason)
    return Decision("rollback", after, 0.0, reason, figures)


def _hold(
    spec: RolloutSpec, state: RolloutState, obs: Observations, held: float, figures: Figures
) -> Decision:
    """Too little candidate traffic after the bake: hold, or give up after ``max_hold_s``."""
    count = f"{obs.candidate.requests} of {spec.guardrails.min_requests} requests"
    if spec.max_hold_s is not None and held >= spec.max_hold_s:
        why = (
            f"inconclusive for too long: {count}, {held:.0f}s after the bake "
            f"(max_hold_s {spec.max_hold_s:g})"
        )
        return _rollback(spec, state, why, figures)
    reason = f"inconclusive: {count} after the {spec.bake_s:g}s bake; holding"
    after = replace(state, status="holding", reason=reason)
    return Decision("hold", after, spec.percents()[state.step], reason, figures)


def _pass(
    spec: RolloutSpec, state: RolloutState, obs: Observations, now: float, figures: Figures
) -> Decision:
    """The step passed: the next step from ``now``, or promotion after the last."""
    percents = spec.percents()
    if state.step == len(percents) - 1:
        reason = f"promoted {spec.candidate}: {_summary(obs.candidate)} in the last step"
        after = replace(state, status="promoted", reason=reason)
        return Decision("promote", after, 100.0, reason, figures)
    step = state.step + 1
    reason = (
        f"step {state.step + 1} passed ({_summary(obs.candidate)}); step {step + 1} of "
        f"{len(percents)}: {spec.candidate} at {percents[step]:g}%"
    )
    after = RolloutState(step=step, step_started_at=now, status="running", reason=reason)
    return Decision("advance", after, percents[step], reason, figures)


def _stop_now(spec: RolloutSpec, obs: Observations, figures: Figures) -> str:
    """Why the candidate must go at once, whatever the bake (rules 2-4), or ''."""
    if not deployable(obs.candidate_registry_status):
        return (
            f"the candidate is {obs.candidate_registry_status} in the registry, not Approved; "
            "only Approved versions take traffic"
        )
    if spec.guardrails.on_alert and obs.alerts:
        return f"monitor alert on the candidate: {'; '.join(obs.alerts)}"
    return _breach(spec, obs, figures)


def _breach(spec: RolloutSpec, obs: Observations, f: Figures) -> str:
    """The first guardrail the candidate breaches with ``confidence``, or ''."""
    g = spec.guardrails
    cand, stable = obs.candidate, obs.stable
    sure = f"with {g.confidence:.0%} confidence"
    lower_5xx = f["candidate_5xx_lower"]
    if lower_5xx is not None and lower_5xx > g.max_error_rate:
        return (
            f"5xx {_share(cand.errors_5xx, cand.requests)}, above {g.max_error_rate:.1%} "
            f"{sure} (lower bound {lower_5xx:.1%})"
        )
    limit_4xx = f["candidate_4xx_limit"]
    lower_4xx = f["candidate_4xx_lower"]
    if limit_4xx is not None and lower_4xx is not None and lower_4xx > limit_4xx:
        return (
            f"4xx {_share(cand.errors_4xx, cand.requests)} against the stable's "
            f"{_share(stable.errors_4xx, stable.requests)}: the excess is above "
            f"{g.max_client_error_excess:.1%} {sure} (lower bound {lower_4xx:.1%}, "
            f"limit {limit_4xx:.1%})"
        )
    p99_limit, cand_p99 = f["p99_limit_ms"], f["candidate_p99_ms"]
    if p99_limit is not None and cand_p99 is not None and cand_p99 > p99_limit:
        return (
            f"p99 {cand_p99:.1f} ms against the stable's {f['stable_p99_ms']:.1f} ms, above "
            f"{p99_limit:.1f} ms (x{g.max_p99_ratio:g} + {g.p99_slack_ms:g} ms) over "
            f"{cand.requests} and {stable.requests} requests"
        )
    return ""


def _point_failure(spec: RolloutSpec, obs: Observations) -> str:
    """Why the step cannot pass on its point estimates at the end of the bake, or ''."""
    g = spec.guardrails
    cand, stable = obs.candidate, obs.stable
    if cand.errors_5xx > g.max_error_rate * cand.requests:
        return (
            f"5xx {_share(cand.errors_5xx, cand.requests)} above {g.max_error_rate:.1%} "
            "at the end of the bake"
        )
    if stable.requests >= g.min_requests:
        excess = cand.errors_4xx / cand.requests - stable.errors_4xx / stable.requests
        if excess > g.max_client_error_excess:
            return (
                f"4xx {_share(cand.errors_4xx, cand.requests)} against the stable's "
                f"{_share(stable.errors_4xx, stable.requests)}, {excess:.1%} more, above "
                f"{g.max_client_error_excess:.1%} at the end of the bake"
            )
    return ""


def _figures(spec: RolloutSpec, state: RolloutState, obs: Observations, now: float) -> Figures:
    g = spec.guardrails
    cand, stable = obs.candidate, obs.stable
    stable_enough = stable.requests >= g.min_requests
    least = max(g.min_requests, P99_MIN_REQUESTS)
    both_enough = min(stable.requests, cand.requests) >= least
    cand_p99 = cand.quantile_ms(0.99)
    stable_p99 = stable.quantile_ms(0.99)
    limit_4xx = None
    if stable_enough and stable.client_error_rate is not None:
        limit_4xx = stable.client_error_rate + g.max_client_error_excess
    p99_limit = None
    if both_enough and stable_p99 is not None:
        p99_limit = stable_p99 * g.max_p99_ratio + g.p99_slack_ms
    return {
        "step": state.step,
        "candidate_percent": spec.percents()[state.step],
        "elapsed_s": now - state.step_started_at,
        "bake_s": spec.bake_s,
        "candidate_requests": cand.requests,
        "candidate_5xx": cand.errors_5xx,
        "candidate_5xx_rate": cand.error_rate,
        "candidate_5xx_lower": _bound(cand.errors_5xx, cand.requests, g.confidence),
        "candidate_4xx": cand.errors_4xx,
        "candidate_4xx_rate": cand.client_error_rate,
        "candidate_4xx_lower": _bound(cand.errors_4xx, cand.requests, g.confidence),
        "candidate_4xx_limit": limit_4xx,
        "stable_requests": stable.requests,
        "stable_5xx_rate": stable.error_rate,
        "stable_4xx_rate": stable.client_error_rate,
        "candidate_p99_ms": cand_p99,
        "stable_p99_ms": stable_p99,
        "p99_limit_ms": p99_limit,
    }


def _bound(count: int, total: int, confidence: float) -> float | None:
    return rate_lower_bound(count, total, confidence) if total else None


def _share(count: int, total: int) -> str:
    return f"{count / total:.1%} ({count} of {total})" if total else f"{count} of 0"


def _summary(stats: VariantStats) -> str:
    p99 = stats.quantile_ms(0.99)
    latency = f", p99 {p99:.1f} ms" if p99 is not None else ""
    return f"5xx {_share(stats.errors_5xx, stats.requests)}{latency}"
