"""Searchers by name. Each factory imports its library only when chosen.

random    Ray Tune's random sampling (BasicVariantGenerator)
grid      every combination of the `grid` values, once
bayesian  Optuna's TPE (a Bayesian optimiser that takes every parameter type)
gp        Gaussian-process Bayesian optimisation (bayes_opt); continuous ranges only
hyperopt  HyperOpt's TPE
"""

from __future__ import annotations

from typing import Any

from ray_apps.errors import SpecError


def _random(space, metric, mode, seed, points, evaluated, max_concurrent):
    from ray.tune.search import BasicVariantGenerator

    # Tune ignores TuneConfig.max_concurrent_trials for this generator: it takes its own.
    return BasicVariantGenerator(
        points_to_evaluate=points or None, random_state=seed, max_concurrent=max_concurrent
    )


def _bayesian(space, metric, mode, seed, points, evaluated, max_concurrent):
    import optuna

    from tuning._optuna import OptunaWithPrior

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler = optuna.samplers.TPESampler(seed=seed, n_startup_trials=4)
    return OptunaWithPrior(
        metric=metric,
        mode=mode,
        sampler=sampler,
        points_to_evaluate=points or None,  # run first (enqueued)
        prior=evaluated or [],  # completed parent trials: learned from, not re-run
    )


def _gp(space, metric, mode, seed, points, evaluated, max_concurrent):
    from ray.tune.search.bayesopt import BayesOptSearch

    return BayesOptSearch(
        metric=metric, mode=mode, random_state=seed, points_to_evaluate=points or None
    )


def _hyperopt(space, metric, mode, seed, points, evaluated, max_concurrent):
    from ray.tune.search.hyperopt import HyperOptSearch

    return HyperOptSearch(
        metric=metric, mode=mode, random_state_seed=seed, points_to_evaluate=points or None
    )


_FACTORIES = {
    "random": _random,
    "grid": _random,
    "bayesian": _bayesian,
    "gp": _gp,
    "hyperopt": _hyperopt,
}

# Searchers that take completed results as prior knowledge without running them again.
TAKES_REWARDS = {"bayesian"}


def create_searcher(
    name: str,
    *,
    space: dict[str, Any],
    metric: str,
    mode: str,
    seed: int | None,
    points: list[dict[str, Any]] | None = None,
    evaluated: list[tuple[dict[str, Any], float]] | None = None,
    max_concurrent: int = 0,
):
    """The Tune search algorithm ``name``: ``points`` are run first; ``evaluated`` (configs
    with their results, searchers in TAKES_REWARDS only) are learned from without running."""
    try:
        factory = _FACTORIES[name]
    except KeyError:
        raise SpecError(
            f"unknown searcher {name!r}; choose one of {', '.join(sorted(_FACTORIES))}"
        ) from None
    return factory(space, metric, mode, seed, points, evaluated, max_concurrent)
