"""grace_period: auto, from max_t, the reduction factor and the learning-rate range; an explicit
value is kept."""

import pytest

from tuning.grace import Grace, learning_rate_spread, resolve_grace
from tuning.spec import ParamSpec, StrategySpec


def space(**dims):
    return {f"hyperparameters.params.{k}": ParamSpec(**v) for k, v in dims.items()}


DEPTH = {"type": "randint", "low": 2, "high": 8}


@pytest.mark.parametrize(
    ("max_t", "rf", "dims", "rounds"),
    [
        (100, 3, {"max_depth": DEPTH}, 12),  # ceil(100 / 9): rungs 12, 36, 100
        (9, 3, {"max_depth": DEPTH}, 1),  # 9 / 9 is exactly 1
        (2, 3, {"max_depth": DEPTH}, 1),  # never below 1
        # bench/tune_efficiency.py: 60 rounds, rf 4, eta 0.05-0.5: ceil(3.75 × √10) = 12
        (60, 4, {"eta": {"type": "loguniform", "low": 0.05, "high": 0.5}}, 12),
        # the README's job: 40 rounds, rf 3, eta 0.02-0.5 (spread 25, √25 capped at rf 3)
        (40, 3, {"eta": {"type": "loguniform", "low": 0.02, "high": 0.5}}, 14),
        # a narrow range barely moves it: √2 × 100 / 9 = 15.7
        (100, 3, {"eta": {"type": "uniform", "low": 0.1, "high": 0.2}}, 16),
        # the widest learning-rate-like key counts, choices included
        (
            100,
            3,
            {"learning_rate": {"type": "choice", "values": [0.05, 0.2]}, "max_depth": DEPTH},
            23,
        ),
        # a torch-sized range is capped at ×rf: max_t / rf, two rungs
        (10, 2, {"lr": {"type": "loguniform", "low": 1e-4, "high": 1e-1}}, 5),
    ],
)
def test_auto_grace(max_t, rf, dims, rounds):
    grace = resolve_grace(StrategySpec(reduction_factor=rf), max_t, space(**dims))
    assert grace.rounds == rounds
    assert grace.rule.startswith(f"auto: ceil({max_t} / {rf}²")


def test_an_explicit_grace_is_kept_as_given():
    lr = space(eta={"type": "loguniform", "low": 0.01, "high": 0.5})
    assert resolve_grace(StrategySpec(grace_period=1), 100, lr) == Grace(
        1, "set in strategy.grace_period"
    )
    assert resolve_grace(StrategySpec(grace_period=50), 20, lr).rounds == 50  # ASHA clamps it


def test_auto_is_the_default_and_may_be_written_out():
    assert StrategySpec().grace_period is None
    assert StrategySpec(grace_period="auto").grace_period is None
    with pytest.raises(ValueError, match="greater than or equal to 1"):
        StrategySpec(grace_period=0)


def test_spread_ignores_keys_that_are_not_learning_rates():
    dims = space(max_depth=DEPTH, gamma={"type": "uniform", "low": 0.01, "high": 5})
    assert learning_rate_spread(dims) == 1.0
    assert learning_rate_spread(
        {"hyperparameters.lr": ParamSpec(type="loguniform", low=1e-3, high=1e-1)}
    ) == pytest.approx(100)
