"""Typed tuning job specs: a training job, a search space, an objective and a strategy.

    name: cancer-xgb-tune
    train: train_xgboost.yaml               # a training job file (relative to this file) or inline
    search_space:
      hyperparameters.params.max_depth: {type: randint, low: 2, high: 8}
      hyperparameters.params.eta: {type: loguniform, low: 0.01, high: 0.5}
    objective: {metric: valid_logloss, mode: min}
    strategy: {searcher: bayesian, scheduler: asha}   # grace_period: auto (the default)
    budget: {max_trials: 12, max_concurrent: 2, time_budget_s: 600}
    trial: {workers: 1}
    warm_start: {mode: transfer, parents: [cancer-xgb-tune-20261123-101500-abc123]}

Parameter names are dotted paths into the training job: ``hyperparameters.*`` and
``model.params.*``. Unknown keys are rejected, like every raymaker spec.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from ray_apps.spec import TrainJobSpec, _Strict, load_yaml, parse_spec

TUNABLE_PREFIXES = ("hyperparameters.", "model.params.")


class ParamSpec(_Strict):
    """One dimension of the search space, in Ray Tune's vocabulary."""

    type: Literal["uniform", "loguniform", "randint", "quniform", "choice", "grid"]
    low: float | None = None
    high: float | None = None
    q: float | None = Field(None, gt=0)
    values: list[Any] | None = None

    @model_validator(mode="after")
    def _fields_for_type(self) -> ParamSpec:
        if self.type in ("choice", "grid"):
            if not self.values:
                raise ValueError(f"type {self.type} needs a non-empty `values` list")
            if self.low is not None or self.high is not None:
                raise ValueError(f"type {self.type} takes `values`, not low/high")
            return self
        if self.low is None or self.high is None:
            raise ValueError(f"type {self.type} needs `low` and `high`")
        if self.values is not None:
            raise ValueError(f"type {self.type} takes low/high, not `values`")
        if not self.low < self.high:
            raise ValueError(f"low ({self.low}) must be below high ({self.high})")
        if self.type == "loguniform" and self.low <= 0:
            raise ValueError(f"loguniform needs low > 0 (got {self.low})")
        if self.type == "quniform" and self.q is None:
            raise ValueError("quniform needs a step `q`")
        if self.type == "randint" and not (
            float(self.low).is_integer() and float(self.high).is_integer()
        ):
            raise ValueError("randint takes whole numbers for low and high")
        return self

    @property
    def continuous(self) -> bool:
        return self.type in ("uniform", "loguniform", "quniform")

    @property
    def categorical(self) -> bool:
        return self.type in ("choice", "grid")

    def contains(self, value: Any) -> bool:
        if self.categorical:
            return value in self.values
        return isinstance(value, (int, float)) and self.low <= value <= self.high

    def clip(self, value: Any) -> Any:
        """The nearest value inside this dimension, or raise ValueError if there is none."""
        if self.categorical:
            if value in self.values:
                return value
            raise ValueError(f"{value!r} is not one of {self.values}")
        if not isinstance(value, (int, float)) or isinstance(value, bool) or math.isnan(value):
            raise ValueError(f"{value!r} is not a number")
        clipped = min(max(value, self.low), self.high)
        if self.type == "randint":  # Tune's randint excludes `high`
            clipped = int(min(round(clipped), self.high - 1))
        if self.type == "quniform":
            clipped = round(clipped / self.q) * self.q
        return clipped


class ObjectiveSpec(_Strict):
    metric: str
    mode: Literal["min", "max"]


SEARCHERS = ("random", "grid", "bayesian", "gp", "hyperopt")
SCHEDULERS = ("fifo", "asha", "hyperband", "median")


class StrategySpec(_Strict):
    """``searcher`` proposes configurations; ``scheduler`` stops poor trials early."""

    searcher: Literal["random", "grid", "bayesian", "gp", "hyperopt"] = "random"
    scheduler: Literal["fifo", "asha", "hyperband", "median"] = "fifo"
    grace_period: int | None = Field(
        None,
        ge=1,
        description="epochs/rounds before a trial may be stopped; auto (null): from the job's "
        "epochs/rounds, reduction_factor and the learning-rate range (tuning.grace)",
    )
    reduction_factor: int = Field(3, ge=2)
    seed: int | None = 0
    evaluate_default_first: bool = Field(
        True,
        description="trial 1 runs the training job's own values of the searched keys (Ray "
        "Tune's points_to_evaluate, Optuna's enqueue_trial), so tuning can only improve on "
        "them; not for searcher grid, which visits exactly its grid (tuning.default_point)",
    )

    @field_validator("grace_period", mode="before")
    @classmethod
    def _auto_grace(cls, value: Any) -> Any:
        return None if value == "auto" else value


class BudgetSpec(_Strict):
    max_trials: int = Field(10, ge=1, description="new trials to run (grid: grid repeats)")
    max_concurrent: int = Field(2, ge=1)
    time_budget_s: float | None = Field(None, gt=0)


class TrialSpec(_Strict):
    """Resources of one trial: ``workers`` > 1 makes each trial a distributed Ray Train run.

    ``mode``: where trials run. ``local``: one after another in this process (Optuna's
    samplers and pruners; tuning/local_trials.py); ``ray``: on Ray Tune; ``auto`` (default):
    local for one-worker trials on data one process holds, unless the job joins a Ray cluster
    (tuning/trial_placement.py).
    """

    workers: int = Field(1, ge=1)
    cpus_per_worker: float = Field(1.0, gt=0)
    max_failures: int = Field(1, ge=0, description="retries of an errored trial")
    mode: Literal["auto", "local", "ray"] = "auto"


class WarmStartSpec(_Strict):
    """Seed a new job from earlier tuning jobs (their run names or folders).

    ``identical``: same data and algorithm; parent trials are not re-run, their results seed
    the searcher. ``transfer``: new data or space; the parents' best configurations (clipped
    into the new space) are evaluated first.
    """

    mode: Literal["identical", "transfer"]
    parents: list[str] = Field(min_length=1, max_length=5)
    top_k: int = Field(3, ge=1, description="transfer: best configurations taken per parent")


class TuneJobSpec(_Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
    train: TrainJobSpec
    search_space: dict[str, ParamSpec] = Field(min_length=1)
    objective: ObjectiveSpec
    strategy: StrategySpec = StrategySpec()
    budget: BudgetSpec = BudgetSpec()
    trial: TrialSpec = TrialSpec()
    warm_start: WarmStartSpec | None = None
    storage: str | None = None

    @model_validator(mode="after")
    def _consistent(self) -> TuneJobSpec:
        for path in self.search_space:
            if not path.startswith(TUNABLE_PREFIXES):
                raise ValueError(
                    f"search_space key {path!r} is not tunable; use paths under "
                    f"{' or '.join(TUNABLE_PREFIXES)} (e.g. hyperparameters.lr)"
                )
        if self.train.scaling.min_workers is not None:
            raise ValueError(
                "train.scaling.min_workers: a trial has a fixed size (Tune schedules it whole); "
                "remove min_workers and set trial.workers"
            )
        clock = [r.name for r in (self.train.health.rules if self.train.health else ())]
        clock = [n for n in clock if n in ("stalled", "max_initialization_time")]
        if clock:
            raise ValueError(
                f"train.health.rules {clock} are judged by a clock beside a training run, which "
                "a trial has not; bound the experiment with budget.time_budget_s instead"
            )
        strategy = self.strategy
        if strategy.searcher == "grid":
            ranged = [k for k, p in self.search_space.items() if not p.categorical]
            if ranged:
                raise ValueError(
                    f"searcher grid visits listed values only, but {ranged} are ranges; give "
                    "them as {type: grid, values: [...]} or pick searcher random/bayesian"
                )
        elif any(p.type == "grid" for p in self.search_space.values()):
            raise ValueError(
                f"type grid needs searcher grid (got {strategy.searcher}); use type choice to "
                "let the searcher pick among values"
            )
        if strategy.searcher == "gp":
            cats = [k for k, p in self.search_space.items() if p.categorical or p.type == "randint"]
            if cats:
                raise ValueError(
                    f"searcher gp (Gaussian process) takes continuous ranges only, but {cats} are "
                    "discrete; use searcher bayesian (TPE), which takes every type"
                )
        if strategy.scheduler in ("asha", "hyperband", "median") and self.train.epochs < 2:
            raise ValueError(
                f"scheduler {strategy.scheduler} stops trials between epochs/rounds, but the "
                f"training job reports once ({self.train.epochs} epoch/round); raise them or "
                "use scheduler fifo"
            )
        if strategy.scheduler == "hyperband" and strategy.searcher not in ("random", "grid"):
            raise ValueError(
                f"scheduler hyperband pauses and resumes trials, which searcher "
                f"{strategy.searcher} cannot follow (it hangs past the time budget); use "
                "scheduler asha with it"
            )
        return self


def _resolve_train(data: dict[str, Any], base: Path | None) -> dict[str, Any]:
    train = data.get("train")
    if isinstance(train, str):
        path = Path(train)
        if not path.is_absolute() and base is not None and not path.exists():
            path = base / path
        data = {**data, "train": load_yaml(path)}
    return data


def load_tune_spec(source: str | Path | dict) -> TuneJobSpec:
    """Validate a tuning job from a YAML path or a mapping (``train`` may name a job file)."""
    if isinstance(source, dict):
        return parse_spec(TuneJobSpec, _resolve_train(source, None), source="tuning spec")
    path = Path(source)
    data = _resolve_train(load_yaml(path), path.parent)
    return parse_spec(TuneJobSpec, data, source=str(path))
