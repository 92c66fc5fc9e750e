"""The health rules as pure functions, with numbers: each fires on the run it describes and
stays quiet on a healthy one; defaults are SageMaker Debugger's."""

from __future__ import annotations

import math

import pytest
from pydantic import ValidationError

from ray_apps.training.health import RULES, HealthSpec, Observed


def runs(**series) -> list[dict]:
    """Evaluations from per-signal lists: runs(train_loss=[…], val_loss=[…])."""
    n = max(len(v) for v in series.values())
    return [
        {"epoch": i + 1, "t": 100.0 + 10 * i, **{k: v[i] for k, v in series.items() if i < len(v)}}
        for i in range(n)
    ]


def check(name: str, history, now: float = 1000.0, started_at: float = 0.0, **params):
    model, rule = RULES[name]
    return rule(model(**params), Observed(history, started_at, now))


HEALTHY = runs(
    train_loss=[1.0 * 0.85**i for i in range(20)],
    val_loss=[1.05 * 0.85**i for i in range(20)],
    grad_norm=[2.0 - 0.05 * i for i in range(20)],
    grad_abs_mean=[1e-3] * 20,
    update_ratio=[1e-3] * 20,
    epoch_time_s=[1.0 + 0.01 * (i % 3) for i in range(20)],
    rank_step_time_s=[[1.0, 1.05]] * 20,
    t=[100.0 + 10 * i for i in range(20)],
)


@pytest.mark.parametrize("name", sorted(RULES))
def test_no_rule_fires_on_a_healthy_run(name):
    assert check(name, HEALTHY, now=HEALTHY[-1]["t"] + 5) is None


def test_the_defaults_are_debuggers():
    defaults = {name: model().model_dump() for name, (model, _) in RULES.items()}
    assert defaults["loss_not_decreasing"]["num_steps"] == 10
    assert defaults["overfit"] == {"ratio_threshold": 0.1, "patience": 3, "start_step": 0}
    assert defaults["overtraining"]["patience_train"] == 5
    assert defaults["overtraining"]["patience_validation"] == 10
    assert defaults["overtraining"]["delta"] == 0.01
    assert defaults["vanishing_gradient"]["threshold"] == 1e-7
    assert defaults["weight_update_ratio"] == {"large_threshold": 10.0, "small_epsilon": 1e-8}
    assert defaults["step_outlier"]["stddev"] == 3.0
    assert defaults["step_outlier"]["n_outliers"] == 10
    assert defaults["stalled"]["threshold_s"] == 1800.0
    assert defaults["max_initialization_time"]["threshold_s"] == 1200.0


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_nonfinite_fires_on_the_first_bad_value_and_names_it(bad):
    history = runs(train_loss=[0.9, 0.7, bad])
    found = check("nonfinite", history)
    assert found.epoch == 3 and "train_loss is" in found.message
    assert check("nonfinite", history[:2]) is None
    counted = runs(train_loss=[0.9], nonfinite=[4])
    assert "4 non-finite values at epoch 1" in check("nonfinite", counted).message


def test_loss_not_decreasing_looks_num_steps_back():
    flat = runs(train_loss=[1.0, 0.8] + [0.8] * 10)
    found = check("loss_not_decreasing", flat)
    assert found.epoch == 12 and "10 evaluations before" in found.message
    assert check("loss_not_decreasing", flat[:10]) is None  # too short to judge
    slow = runs(train_loss=[1.0 - 0.001 * i for i in range(12)])
    assert check("loss_not_decreasing", slow) is None  # it fell (diff_percent 0)
    assert check("loss_not_decreasing", slow, diff_percent=5.0) is not None  # not by 5 %


def test_overfit_needs_the_gap_for_patience_evaluations_and_a_worse_validation():
    gap = runs(train_loss=[0.5, 0.4, 0.3, 0.2, 0.1], val_loss=[0.52, 0.35, 0.36, 0.4, 0.45])
    found = check("overfit", gap)  # (0.45 − 0.1) / 0.1 = 350 % > 10 %; 3 epochs above 0.35
    assert found.epoch == 5 and found.value == pytest.approx(3.5)
    # gaps at epochs 3, 4, 5: 20 %, 100 %, 350 %; validation above its best 0.35 since epoch 3
    assert check("overfit", gap, patience=1).epoch == 5
    assert check("overfit", gap, patience=4) is None
    assert check("overfit", gap, ratio_threshold=1.1) is None  # epoch 3's gap is 20 %
    assert check("overfit", gap, start_step=5) is None
    # The same gap while validation still improves is how boosting looks: no finding.
    improving = runs(train_loss=[0.5, 0.4, 0.3, 0.2], val_loss=[0.52, 0.45, 0.36, 0.3])
    assert check("overfit", improving, patience=1) is None


def test_overtraining_fires_when_validation_stops_improving_by_delta():
    val = [1.0, 0.8, 0.6, 0.5] + [0.5 + 0.01 * i for i in range(10)]
    train = [1.0 * 0.8**i for i in range(14)]
    found = check("overtraining", runs(train_loss=train, val_loss=val))
    assert found is not None and "val_loss has not improved by 1% in 10" in found.message
    improving = [1.0 - 0.05 * i for i in range(14)]
    assert check("overtraining", runs(train_loss=train, val_loss=improving)) is None


def test_overtraining_also_watches_training_loss_with_its_own_patience():
    train = [1.0, 0.5, 0.3] + [0.3] * 5
    found = check("overtraining", runs(train_loss=train))
    assert "train_loss has not improved by 1% in 5" in found.message
    # delta is relative: a small loss still falling by more than 1 % of itself is no finding
    # (Debugger's absolute 0.01 fired on a 0.029 → 0.021 log loss).
    small = [0.1, 0.05, 0.03] + [0.03 * 0.95**i for i in range(1, 6)]
    assert check("overtraining", runs(train_loss=small)) is None


def test_gradient_rules():
    tiny = runs(grad_abs_mean=[1e-3, 1e-5, 1e-8])
    assert check("vanishing_gradient", tiny).epoch == 3
    assert check("vanishing_gradient", tiny[:2]) is None
    blowup = runs(grad_norm=[1.0, 1.2, 0.9, 3.0, 25.0])
    found = check("exploding_gradient", blowup)
    assert found.epoch == 5 and "25× its early median 1" in found.message
    assert check("exploding_gradient", blowup[:4]) is None
    assert check("weight_update_ratio", runs(update_ratio=[1e-3, 12.0])).epoch == 2
    assert "below 1e-08" in check("weight_update_ratio", runs(update_ratio=[1e-9])).message


def test_step_outlier_counts_slow_steps_against_the_ones_before():
    times = [1.0, 1.1, 0.9, 1.0, 1.05] + [1.0, 0.95, 1.05, 9.0] * 10
    found = check("step_outlier", runs(epoch_time_s=times))
    assert found is not None and found.value == 10
    assert check("step_outlier", runs(epoch_time_s=times[:-2])) is None  # 9 outliers


def test_stalled_and_slow_initialisation_read_the_clock():
    history = runs(train_loss=[1.0, 0.9])  # last evaluation at t = 110
    assert check("stalled", history, now=110 + 1800) is None
    found = check("stalled", history, now=110 + 1801)
    assert found.epoch == 2 and "no new evaluation for 1801 s" in found.message
    assert check("max_initialization_time", [], now=1200, started_at=0) is None
    found = check("max_initialization_time", [], now=1201, started_at=0)
    assert found.epoch is None and "no first step 1201 s" in found.message
    assert check("max_initialization_time", history, now=99999) is None  # it did start


def test_straggler_is_the_same_slow_rank_for_patience_evaluations():
    slow_rank_1 = runs(rank_step_time_s=[[1.0, 2.5, 1.1]] * 3)
    found = check("straggler", slow_rank_1)
    assert "rank 1 took 2.4× the other ranks' median" in found.message  # 2.5 / median(1.0, 1.1)
    two_ranks = runs(rank_step_time_s=[[1.0, 2.2]] * 3)  # the mean of two is never 2× below
    assert "rank 1 took 2.2×" in check("straggler", two_ranks).message
    assert check("straggler", runs(rank_step_time_s=[[1.0, 1.9]] * 3)) is None
    wandering = runs(rank_step_time_s=[[3.0, 1.0, 1.0], [1.0, 3.0, 1.0], [1.0, 1.0, 3.0]])
    assert check("straggler", wandering) is None


def test_low_gpu_utilization_needs_gpu_signals():
    idle = runs(gpu_utilization=[30.0] * 10)
    assert "p95 30 %" in check("low_gpu_utilization", idle).message
    assert check("low_gpu_utilization", runs(gpu_utilization=[95.0] * 10)) is None
    assert check("low_gpu_utilization", runs(train_loss=[1.0] * 10)) is None  # a CPU run


def test_a_health_section_names_unknown_rules_and_parameters():
    with pytest.raises(ValidationError, match="'overfitting' is not a health rule; use one of"):
        HealthSpec(rules=["overfitting"])
    with pytest.raises(ValidationError, match=r"\(overfit\): \['ratio'\] unknown; it takes"):
        HealthSpec(rules=[{"name": "overfit", "ratio": 0.2}])
    with pytest.raises(ValidationError, match="greater than 0"):
        HealthSpec(rules=[{"name": "overfit", "ratio_threshold": 0}])


def test_a_health_section_checks_every_rule_with_its_actions():
    spec = HealthSpec(
        rules=[
            "nonfinite",
            {"name": "overfit", "ratio_threshold": 0.2, "patience": 1, "actions": ["stop"]},
        ],
        actions=["tag", "alert"],
        webhook={"url_env": "HEALTH_HOOK"},  # an alert needs somewhere to go
    )
    gap = runs(train_loss=[0.5, 0.2], val_loss=[0.5, math.nan])
    fired = spec.check(Observed(gap, 0.0, 1000.0))
    assert [(rule.name, spec.actions_of(rule)) for rule, _ in fired] == [
        ("nonfinite", ("tag", "alert"))
    ]
    gap = runs(train_loss=[0.5, 0.2], val_loss=[0.5, 0.6])
    fired = spec.check(Observed(gap, 0.0, 1000.0))
    assert [(rule.name, spec.actions_of(rule)) for rule, _ in fired] == [("overfit", ("stop",))]
