"""The rollout decision, with numbers: the issue's two scenarios, each rule, and the bound."""

import math

import pytest
from scipy.special import betaln
from statsmodels.stats.proportion import proportion_confint

from serve.rollout import (
    Observations,
    RolloutState,
    decide,
    parse_rollout_spec,
    rate_lower_bound,
    start,
)
from serve.traffic.stats import StatsAccumulator, VariantStats, merge_all

T0 = 1_000_000.0
SPEC = parse_rollout_spec(
    {"endpoint": "fairness", "candidate": "fair:5", "bake_s": 30, "guardrails": {}}
)


def stats(requests: int, e5: int = 0, e4: int = 0, ms: float = 10.0) -> VariantStats:
    acc = StatsAccumulator()
    for i in range(requests):
        status = 500 if i < e5 else 400 if i < e5 + e4 else 200
        acc.observe("v", status, ms)
    return acc.take().get("v", VariantStats())


def obs(cand: VariantStats, stable: VariantStats | None = None, **kw) -> Observations:
    kw.setdefault("candidate_registry_status", "Approved")
    return Observations(candidate=cand, stable=stats(2000) if stable is None else stable, **kw)


RUNNING = RolloutState(step=0, step_started_at=T0, status="running")


# --- the scenarios -------------------------------------------------------------------


def test_a_candidate_failing_20_percent_is_rolled_back_within_one_bake():
    """10 req/s on the endpoint, 10 % to the candidate: one candidate request a second, every
    fifth a 5xx; the driver ticks every second. The bake is 30 s; it must not take that long."""
    replica, step = StatsAccumulator(), Step()
    d = start(SPEC, T0)
    assert (d.candidate_percent, d.state.step) == (10, 0)
    for second in range(1, 31):
        replica.observe("candidate", 500 if second % 5 == 0 else 200, 12.0)
        for _ in range(9):
            replica.observe("stable", 200, 12.0)
        d = decide(SPEC, d.state, step.observations(replica), T0 + second)
        if d.action != "wait":
            break
    assert d.action == "rollback" and d.candidate_percent == 0
    assert d.state.status == "rolled_back" and second < 30
    assert d.reason.startswith("rolled back fair:5 at 10%: 5xx 20.0% (2 of 10), above 1.0% with")
    assert "95% confidence" in d.reason
    assert (d.figures["candidate_5xx"], d.figures["candidate_requests"]) == (2, 10)
    # and the decision stays put after that
    assert decide(SPEC, d.state, obs(stats(0)), T0 + 99).action == "wait"


class Step:
    """The driver's view: what the replicas' takes add up to since the step started."""

    def __init__(self) -> None:
        self.seen: dict[str, VariantStats] = {}

    def observations(self, *replicas: StatsAccumulator) -> Observations:
        self.seen = merge_all([self.seen, *(r.take() for r in replicas)])
        return obs(
            self.seen.get("candidate", VariantStats()), self.seen.get("stable", VariantStats())
        )


def test_a_healthy_candidate_is_promoted():
    """100 req/s over two replicas, canary [10, 100], bake 30 s, ticks every 5 s: no errors,
    the same latency."""
    replicas = [StatsAccumulator(), StatsAccumulator()]
    d = start(SPEC, T0)
    now, actions = T0, []
    while d.action not in ("promote", "rollback") and now < T0 + 600:
        percent, step, step_start = d.candidate_percent, Step(), now
        while True:
            now += 5
            for i in range(500):  # 5 s at 100 req/s
                variant = "candidate" if (i % 100) < percent else "stable"
                replicas[i % 2].observe(variant, 200, 8.0 + (i % 7))
            d = decide(SPEC, d.state, step.observations(*replicas), now)
            actions.append(d.action)
            if d.action != "wait":
                break
        assert now - step_start == 30  # each step passes as its bake ends
    assert d.action == "promote" and d.candidate_percent == 100
    assert d.state.status == "promoted"
    assert actions == ["wait"] * 5 + ["advance"] + ["wait"] * 5 + ["promote"]
    assert d.reason.startswith("promoted fair:5: 5xx 0.0% (0 of 3000), p99")


# --- each rule -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "percent"), [("promoted", 100), ("rolled_back", 0), ("aborted", 0)]
)
def test_terminal_states_stay(status, percent):
    state = RolloutState(step=1, step_started_at=T0, status=status, reason="done")
    d = decide(SPEC, state, obs(stats(500, e5=500), candidate_registry_status="Rejected"), T0 + 1e6)
    assert (d.action, d.state, d.candidate_percent, d.reason) == ("wait", state, percent, "done")


@pytest.mark.parametrize(
    ("registry", "reason"),
    [
        ("Rejected", "the candidate is Rejected in the registry, not Approved"),
        ("Pending", "the candidate is Pending in the registry, not Approved"),
        ("", "the candidate is  in the registry"),
    ],
)
def test_a_candidate_not_approved_is_rolled_back_at_once(registry, reason):
    d = decide(SPEC, RUNNING, obs(stats(5), candidate_registry_status=registry), T0 + 1)
    assert (d.action, d.candidate_percent) == ("rollback", 0)
    assert reason in d.reason


def test_alerts_roll_back_unless_on_alert_is_off():
    o = obs(stats(5), alerts=("drift: 4 of 10 features", "quality: auc 0.61"))
    d = decide(SPEC, RUNNING, o, T0 + 1)
    assert d.action == "rollback"
    assert d.reason.endswith(
        "monitor alert on the candidate: drift: 4 of 10 features; quality: auc 0.61"
    )
    quiet = SPEC.model_copy(
        update={"guardrails": SPEC.guardrails.model_copy(update={"on_alert": False})}
    )
    assert decide(quiet, RUNNING, o, T0 + 1).action == "wait"


# (candidate, stable, expected action during the bake, words in the reason)
BREACHES = [
    # 5xx: evidence, not anecdotes
    (stats(3, e5=1), None, "wait", "baking step 1 of 2: 1s of 30s"),
    (stats(10, e5=1), None, "wait", ""),
    (stats(10, e5=2), None, "rollback", "5xx 20.0% (2 of 10), above 1.0% with 95% confidence"),
    (stats(30, e5=6), None, "rollback", "(lower bound 4.5%)"),
    (stats(200, e5=42), None, "rollback", "5xx 21.0% (42 of 200), above 1.0% with 95% confidence"),
    (stats(1000, e5=20), None, "wait", ""),  # 2 %: left to the end of the bake
    (stats(1000, e5=40), None, "rollback", "5xx 4.0% (40 of 1000)"),
    # 4xx: the candidate refuses what the stable accepts
    (
        stats(200, e4=60),
        stats(2000, e4=20),
        "rollback",
        "4xx 30.0% (60 of 200) against the stable's 1.0% (20 of 2000)",
    ),
    # ... but bad input every variant refuses is not the candidate's fault
    (stats(200, e4=60), stats(2000, e4=600), "wait", ""),
    # ... and a stable with too little traffic in the step is no reference
    (stats(200, e4=60), stats(99), "wait", ""),
    # latency: twice as slow is a breach
    (
        stats(200, ms=100.0),
        stats(2000, ms=50.0),
        "rollback",
        "p99 101.4 ms against the stable's 50.7 ms, above 81.0 ms (x1.5 + 5 ms)",
    ),
    # ... sub-millisecond noise is not (slack)
    (stats(200, ms=0.5), stats(2000, ms=0.2), "wait", ""),
    # ... and p99 is not judged on fewer than min_requests
    (stats(99, ms=100.0), stats(2000, ms=50.0), "wait", ""),
    (stats(200, ms=100.0), stats(99, ms=50.0), "wait", ""),
]


@pytest.mark.parametrize(("cand", "stable", "action", "words"), BREACHES)
def test_guardrails_during_the_bake(cand, stable, action, words):
    d = decide(SPEC, RUNNING, obs(cand, stable), T0 + 1)
    assert d.action == action and words in d.reason
    assert d.candidate_percent == (0 if action == "rollback" else 10)


def test_the_bake_ends_at_bake_s():
    healthy = obs(stats(150))
    assert decide(SPEC, RUNNING, healthy, T0 + 29.999).action == "wait"
    d = decide(SPEC, RUNNING, healthy, T0 + 30)
    assert (d.action, d.state.step, d.state.step_started_at, d.candidate_percent) == (
        "advance",
        1,
        T0 + 30,
        100,
    )
    assert d.state.status == "running"
    assert (
        d.reason == "step 1 passed (5xx 0.0% (0 of 150), p99 10.1 ms); step 2 of 2: fair:5 at 100%"
    )


def test_too_few_requests_hold_then_proceed():
    d = decide(SPEC, RUNNING, obs(stats(99)), T0 + 31)
    assert (d.action, d.state.status, d.candidate_percent) == ("hold", "holding", 10)
    assert d.reason == "inconclusive: 99 of 100 requests after the 30s bake; holding"
    later = decide(SPEC, d.state, obs(stats(100)), T0 + 5000)  # no max_hold_s: holds on
    assert (later.action, later.state.step, later.state.status) == ("advance", 1, "running")


def test_holding_past_max_hold_s_rolls_back():
    spec = SPEC.model_copy(update={"max_hold_s": 600})
    assert decide(spec, RUNNING, obs(stats(40)), T0 + 30 + 599).action == "hold"
    d = decide(spec, RUNNING, obs(stats(40)), T0 + 30 + 600)
    assert (d.action, d.state.status, d.candidate_percent) == ("rollback", "rolled_back", 0)
    assert d.reason.endswith(
        "inconclusive for too long: 40 of 100 requests, 600s after the bake (max_hold_s 600)"
    )


@pytest.mark.parametrize(
    ("cand", "stable", "action", "words"),
    [
        (stats(100, e5=1), None, "advance", ""),  # 1.0 % is the limit, not above it
        (
            stats(100, e5=2),
            None,
            "rollback",
            "5xx 2.0% (2 of 100) above 1.0% at the end of the bake",
        ),
        (stats(1000, e5=20), None, "rollback", "at the end of the bake"),
        (stats(200, e4=6), stats(2000, e4=20), "advance", ""),  # 3 % - 1 %: the limit, not above
        (
            stats(200, e4=8),
            stats(2000, e4=20),
            "rollback",
            "4xx 4.0% (8 of 200) against the stable's 1.0% (20 of 2000), 3.0% more, above 2.0%",
        ),
        (stats(200, e4=8), stats(0), "advance", ""),  # no stable traffic: no 4xx reference
    ],
)
def test_a_step_passes_only_on_its_point_estimates(cand, stable, action, words):
    d = decide(SPEC, RUNNING, obs(cand, stable), T0 + 30)
    assert d.action == action and words in d.reason


def test_the_last_step_promotes():
    last = RolloutState(step=1, step_started_at=T0, status="running")
    d = decide(SPEC, last, obs(stats(500), stats(0)), T0 + 30)
    assert (d.action, d.state.status, d.state.step, d.candidate_percent) == (
        "promote",
        "promoted",
        1,
        100,
    )
    assert decide(SPEC, last, obs(stats(500), stats(0)), T0 + 29).candidate_percent == 100


def test_start_and_a_state_outside_the_plan():
    d = start(parse_rollout_spec({"endpoint": "e", "candidate": "m:1", "strategy": "linear"}), T0)
    assert (d.action, d.candidate_percent, d.state) == (
        "advance",
        10,
        RolloutState(0, T0, "running", d.reason),
    )
    assert d.reason == "step 1 of 10: m:1 at 10%"
    with pytest.raises(ValueError, match=r"step 2 is outside the spec's \[10.0, 100.0\]"):
        decide(SPEC, RolloutState(2, T0, "running"), obs(stats(1)), T0)


def test_figures_carry_the_numbers_behind_the_reason():
    d = decide(SPEC, RUNNING, obs(stats(200, e5=42), stats(2000, e4=20)), T0 + 12)
    f = d.figures
    assert (f["step"], f["candidate_percent"], f["elapsed_s"], f["bake_s"]) == (0, 10, 12, 30)
    assert (f["candidate_requests"], f["candidate_5xx"], f["candidate_5xx_rate"]) == (200, 42, 0.21)
    assert f["candidate_5xx_lower"] == pytest.approx(rate_lower_bound(42, 200, 0.95))
    assert f["stable_4xx_rate"] == 0.01 and f["candidate_4xx_limit"] == pytest.approx(0.03)
    assert f["p99_limit_ms"] == pytest.approx(f["stable_p99_ms"] * 1.5 + 5)
    empty = decide(SPEC, RUNNING, obs(stats(0), stats(0)), T0).figures
    assert empty["candidate_5xx_lower"] is None and empty["p99_limit_ms"] is None


# --- the bound -------------------------------------------------------------------------------

GRID = [
    (k, n)
    for n in (1, 2, 3, 5, 10, 30, 100, 1000, 20_000)
    for k in sorted({0, 1, 2, n // 10, n // 2, n})
    if k <= n
]


@pytest.mark.parametrize("confidence", [0.8, 0.95, 0.99])
def test_the_bound_is_wider_than_a_fixed_n_exact_one(confidence):
    """Clopper–Pearson (statsmodels' 'beta'; two-sided alpha = 2 * one-sided) holds for one
    look; the anytime-valid bound pays for every look with a lower (more cautious) value."""
    for k, n in GRID:
        cp = proportion_confint(k, n, alpha=2 * (1 - confidence), method="beta")[0]
        ours = rate_lower_bound(k, n, confidence)
        assert 0 <= ours <= (k / n) and ours <= cp + 1e-12, (k, n)


def test_the_bound_is_where_the_mixture_reaches_one_over_alpha():
    """At the bound, B(k+1, n-k+1) / (p^k (1-p)^(n-k)) = 1 / alpha (scipy's betaln checks our
    lgamma arithmetic)."""
    for k, n in GRID:
        if k == 0:
            continue
        p = rate_lower_bound(k, n, 0.95)
        log_lr = betaln(k + 1, n - k + 1) - k * math.log(p) - (n - k) * math.log1p(-p)
        assert log_lr == pytest.approx(math.log(20), abs=1e-6), (k, n)


def test_one_error_in_three_requests_is_no_evidence_but_a_fixed_n_bound_says_it_is():
    assert rate_lower_bound(1, 3, 0.95) == pytest.approx(0.0042, abs=1e-4)
    assert proportion_confint(1, 3, alpha=0.1, method="beta")[0] > 0.01  # 1.7 %
    assert proportion_confint(1, 21, alpha=0.1, method="wilson")[0] > 0.01


def _rollback_probability(rate: float, looks: int, bound=rate_lower_bound) -> float:
    """Exactly, by dynamic programming over (requests, errors): the chance that the 5xx rule
    fires at some look when each request fails with ``rate`` and every request is a look."""
    alive, fired = {0: 1.0}, 0.0
    for n in range(1, looks + 1):
        nxt: dict[int, float] = {}
        for k, p in alive.items():
            for errors, w in ((k + 1, p * rate), (k, p * (1 - rate))):
                if bound(errors, n, 0.95) > 0.01:
                    fired += w
                else:
                    nxt[errors] = nxt.get(errors, 0.0) + w
        alive = nxt
    return fired


def test_looking_every_request_keeps_false_rollbacks_under_five_percent():
    # A candidate exactly at the limit, watched for 1000 requests: Ville's inequality caps
    # this at 5 %; a fixed-n Clopper–Pearson bound looked at as often goes far above.
    assert _rollback_probability(0.01, 1000) == pytest.approx(0.0167, abs=1e-3)
    assert _rollback_probability(0.002, 1000) < 0.003

    def clopper_pearson(k: int, n: int, c: float) -> float:
        return proportion_confint(k, n, alpha=2 * (1 - c), method="beta")[0]

    assert _rollback_probability(0.01, 300, clopper_pearson) > 0.10


def test_a_20_percent_failure_is_caught_within_30_candidate_requests():
    assert _rollback_probability(0.2, 30) == pytest.approx(0.933, abs=1e-3)
    assert _rollback_probability(0.2, 60) > 0.99
