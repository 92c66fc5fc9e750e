"""Typed job specs: the same object whether it came from YAML, the CLI or a notebook.

A training job in YAML::

    name: cancer-mlp
    dataset:
      source: sklearn:breast_cancer        # or a CSV/Parquet path or URI; then `label:` is required
    model:
      kind: torch                          # a learner: torch | xgboost (ray_apps.learners)
      params: {hidden_sizes: [64, 32]}     # keyword arguments of the model class
    hyperparameters: {epochs: 10, batch_size: 64, lr: 0.003}
    scaling: {num_workers: 2}
    checkpoint: {every: 1, keep: 2}
    failure: {max_failures: 2}
    health:                                # optional: rules that watch the run (none by default)
      rules: [nonfinite, {name: overfit, patience: 2, actions: [tag]}]
      actions: [stop]                      # for rules that name none (default: tag)

Unknown keys are rejected; every error names the field, what it got, and what is allowed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializeAsAny,
    ValidationError,
    field_validator,
    model_validator,
)

from ray_apps.errors import SpecError
from ray_apps.learners import Learner, get_learner, learner_names
from ray_apps.learners.strategies import get_strategy, strategy_names
from ray_apps.training.health.spec import HealthSpec


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SplitSpec(_Strict):
    """Seeded train / validation / test split; the rest of the rows train."""

    valid: float = Field(0.15, ge=0.0, lt=1.0)
    test: float = Field(0.15, ge=0.0, lt=1.0)
    seed: int = 0

    @model_validator(mode="after")
    def _leaves_training_rows(self) -> SplitSpec:
        if self.valid + self.test >= 0.9:
            raise ValueError(
                f"split.valid + split.test = {self.valid + self.test:.2f} leaves too few rows "
                "to train on; keep their sum below 0.9"
            )
        return self


class DatasetSpec(_Strict):
    """Where rows come from and which column is the label."""

    source: str = Field(description="CSV/Parquet path or URI, or a bundled name: sklearn:<name>")
    label: str | None = Field(None, description="label column; bundled datasets name their own")
    features: list[str] | None = Field(None, description="feature columns; default: all others")
    task: Literal["auto", "classification", "regression"] = "auto"
    split: SplitSpec = SplitSpec()


class ModelSpec(_Strict):
    """Which learner (``kind``, a name in ``ray_apps.learners``) and its model's parameters."""

    kind: str = Field(description="the learner: " + " | ".join(learner_names()))
    class_path: str | None = Field(
        None,
        description="learners that take one (torch): 'package.module:Class' taking "
        "(n_features, n_outputs, **params)",
    )
    params: dict[str, Any] = Field(default_factory=dict)

    @field_validator("kind")
    @classmethod
    def _known_learner(cls, kind: str) -> str:
        names = learner_names()
        if kind not in names:
            listed = " or ".join(repr(n) for n in names)
            raise ValueError(f"Input should be {listed}")
        return kind

    @model_validator(mode="after")
    def _fits_learner(self) -> ModelSpec:
        self.learner.check_model(self)
        return self

    @property
    def learner(self) -> Learner:
        return get_learner(self.kind)


class ScalingSpec(_Strict):
    """How many Ray Train workers, what each one holds, and the training strategy.

    ``strategy`` is a name (``ddp``) or a mapping with ``kind`` and that strategy's options
    (``{kind: deepspeed, zero_stage: 3}``); ``ray_apps.learners.strategies`` lists them.
    """

    num_workers: int = Field(2, ge=1)
    min_workers: int | None = Field(
        None,
        ge=1,
        description="elastic training: go on with as few as this many workers while nodes are "
        "missing, and grow back to num_workers when they return",
    )
    elastic_resize_monitor_interval_s: float = Field(
        60.0, gt=0, description="elastic: how often a healthy run checks for room to grow"
    )
    use_gpu: bool = False
    resources_per_worker: dict[str, float] | None = None
    mode: Literal["auto", "local", "distributed"] = Field(
        "auto",
        description="where it trains: local (in this process, no worker group), distributed "
        "(a Ray Train worker group), or auto: local for one CPU worker, else distributed "
        "(ray_apps.training.placement)",
    )
    strategy: SerializeAsAny[BaseModel] = Field(
        default_factory=lambda: get_strategy("ddp").options(),
        description="the training strategy: " + " | ".join(strategy_names()),
    )

    @field_validator("strategy", mode="before")
    @classmethod
    def _strategy_by_kind(cls, value: Any) -> Any:
        # Pick the options schema from strategy.kind, so errors name the right fields.
        if isinstance(value, str):
            value = {"kind": value}
        if isinstance(value, BaseModel):
            value = value.model_dump()
        if not isinstance(value, dict):
            raise ValueError("give a strategy name or a mapping with kind: and its options")
        kind = value.get("kind", "ddp")
        if kind not in strategy_names():
            listed = ", ".join(strategy_names())
            raise ValueError(f"kind {kind!r} is not a training strategy; use one of {listed}")
        try:
            return get_strategy(kind).options.model_validate(value)
        except ValidationError as err:
            raise ValueError("; ".join(_error_parts(err))) from None

    @model_validator(mode="after")
    def _min_within_max(self) -> ScalingSpec:
        if self.min_workers is not None and self.min_workers > self.num_workers:
            raise ValueError(
                f"min_workers {self.min_workers} is above num_workers {self.num_workers} "
                f"(the most workers); set min_workers to at most {self.num_workers}"
            )
        return self

    @property
    def workers(self) -> int | tuple[int, int]:
        """Ray Train's ``num_workers``: a fixed count, or ``(min, max)`` when elastic."""
        if self.min_workers is None or self.min_workers == self.num_workers:
            return self.num_workers
        return (self.min_workers, self.num_workers)


class CheckpointSpec(_Strict):
    """Checkpoint every ``every`` epochs / rounds; keep the newest ``keep``."""

    every: int = Field(1, ge=1)
    keep: int = Field(2, ge=1)


class FaultInjection(_Strict):
    """A deterministic fault at epoch / round ``at_epoch`` on ``rank`` (for tests, demos, drills).

    ``raise`` raises in the worker; ``kill`` SIGKILLs the worker process (both fire once per run:
    a marker in the run folder stops them firing again after the restart). The health rules'
    drills: ``hang`` sleeps ``delay_s`` once at the start of the epoch (``stalled``), ``slow``
    sleeps ``delay_s`` before every training step from that epoch on (``straggler``; torch).
    ``at_epoch: 0`` with ``hang`` is preflight's drill: the rank sleeps at preflight's all-reduce,
    before any epoch, so the check must name it (``raymaker train --preflight``).
    ``at: checkpoint`` fires as the rank reaches epoch ``at_epoch``'s checkpoint instead, before
    it writes it: a rank stuck there holds its peers at Ray Train's checkpoint barrier, which
    ``failure.collective_timeout_s`` bounds as it bounds the all-reduce.
    """

    at_epoch: int = Field(ge=0, description="0: during preflight (mode hang only)")
    rank: int = Field(0, ge=0)
    mode: Literal["raise", "kill", "hang", "slow"] = "raise"
    delay_s: float | None = Field(None, gt=0, description="hang / slow: seconds to sleep")
    at: Literal["epoch", "checkpoint"] = Field(
        "epoch", description="epoch: at the start of at_epoch; checkpoint: at its checkpoint"
    )

    @model_validator(mode="after")
    def _delay_for_sleeps(self) -> FaultInjection:
        sleeps = self.mode in ("hang", "slow")
        if sleeps and self.delay_s is None:
            raise ValueError(f"failure.inject.mode {self.mode} sleeps: give delay_s (seconds)")
        if not sleeps and self.delay_s is not None:
            raise ValueError(
                f"failure.inject.delay_s is for modes hang and slow, not {self.mode}; remove it"
            )
        if self.at == "checkpoint" and (self.mode == "slow" or self.at_epoch == 0):
            raise ValueError(
                "failure.inject.at checkpoint fires once, at epoch at_epoch's checkpoint: use "
                "mode raise, kill or hang with at_epoch 1 or more, or at: epoch"
            )
        if self.at_epoch == 0 and self.mode != "hang":
            raise ValueError(
                f"failure.inject.at_epoch 0 is preflight's drill and hangs a rank there; mode "
                f"{self.mode} acts in epochs: use at_epoch 1 or more, or mode hang"
            )
        return self


class FailureSpec(_Strict):
    """Restart policy. A finite ``max_failures`` so a run without a replacement node ends."""

    max_failures: int = Field(2, ge=0)
    collective_timeout_s: int = Field(
        300,
        ge=10,
        description=(
            "seconds a collective waits for a peer (the process group's all-reduce and Ray "
            "Train's checkpoint barrier), so a lost peer fails over instead of hanging"
        ),
    )
    inject: FaultInjection | None = None


class TrackingSpec(_Strict):
    uri: str | None = Field(None, description="MLflow tracking URI; default: embedded SQLite")
    experiment: str = "raymaker"


class TrainJobSpec(_Strict):
    """One training job: data, learner, hyperparameters, scaling, storage and failure policy."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
    dataset: DatasetSpec
    model: ModelSpec
    # The learner's own schema (ray_apps.learners), picked by model.kind below.
    hyperparameters: SerializeAsAny[BaseModel]
    scaling: ScalingSpec = ScalingSpec()
    storage: str | None = Field(None, description="run storage path or URI; default: embedded")
    checkpoint: CheckpointSpec = CheckpointSpec()
    failure: FailureSpec = FailureSpec()
    tracking: TrackingSpec = TrackingSpec()
    # Training health rules (ray_apps.training.health). None: no rule watches the run and the
    # loops sample no extra signals — opt-in, as SageMaker Debugger's rules are, so a job
    # without the section trains, costs and reports exactly as before.
    health: HealthSpec | None = None

    @model_validator(mode="before")
    @classmethod
    def _hyperparameters_by_kind(cls, data: Any) -> Any:
        # Pick the hyperparameter schema from model.kind, so errors name the right fields.
        if not isinstance(data, dict):
            return data
        model = data.get("model")
        kind = model.get("kind") if isinstance(model, dict) else getattr(model, "kind", None)
        if kind not in learner_names():
            return data  # model.kind's own error names the valid learners
        schema = get_learner(kind).hyperparameters
        hp = data.get("hyperparameters", {})
        if isinstance(hp, BaseModel) and not isinstance(hp, schema):
            hp = hp.model_dump()
        if isinstance(hp, dict):
            try:
                data = {**data, "hyperparameters": schema.model_validate(hp)}
            except ValidationError as err:
                raise ValueError("; ".join(_error_parts(err, prefix="hyperparameters"))) from None
        return data

    @model_validator(mode="after")
    def _checks_across_fields(self) -> TrainJobSpec:
        inject = self.failure.inject
        if inject is not None and inject.rank >= self.scaling.num_workers:
            raise ValueError(
                f"failure.inject.rank {inject.rank} has no worker: scaling.num_workers is "
                f"{self.scaling.num_workers}; use a rank below it"
            )
        if inject is not None and inject.mode == "slow" and not self.model.learner.takes_strategy:
            raise ValueError(
                f"failure.inject.mode slow sleeps before each torch training step; model.kind "
                f"{self.model.kind} has none: use mode hang (once, at the start of the round)"
            )
        strategy = self.scaling.strategy
        if strategy.kind != "ddp" and not self.model.learner.takes_strategy:
            raise ValueError(
                f"scaling.strategy {strategy.kind} trains torch models only; model.kind is "
                f"{self.model.kind}: remove scaling.strategy or set model.kind: torch"
            )
        if self.model.learner.takes_strategy:
            get_strategy(strategy.kind).check(strategy, self)
        if isinstance(self.scaling.workers, tuple):
            _check_elastic(self)
        watches_gpus = self.health is not None and any(
            r.name == "low_gpu_utilization" for r in self.health.rules
        )
        if watches_gpus and not (self.scaling.use_gpu and self.model.learner.takes_strategy):
            raise ValueError(
                "health.rules: low_gpu_utilization watches the GPUs of a torch run (the torch "
                "loop samples them): set scaling.use_gpu: true with model.kind torch, or remove it"
            )
        if inject is not None and inject.at_epoch > self.epochs:
            raise ValueError(
                f"failure.inject.at_epoch {inject.at_epoch} is past the last epoch/round "
                f"({self.epochs}); choose 1..{self.epochs}"
            )
        every = self.checkpoint.every
        at_checkpoint = inject is not None and inject.at == "checkpoint"
        if at_checkpoint and inject.at_epoch % every and inject.at_epoch != self.epochs:
            raise ValueError(
                f"failure.inject.at checkpoint: epoch/round {inject.at_epoch} writes no "
                f"checkpoint (checkpoint.every is {every}); choose a multiple of {every} "
                f"or the last, {self.epochs}"
            )
        return self

    @property
    def epochs(self) -> int:
        """How many epochs or rounds (the learner's ``unit``) the job trains for."""
        return self.model.learner.progress(self.hyperparameters)

    @property
    def unit(self) -> str:
        """The learner's unit of progress and checkpoints: ``epoch`` or ``round``."""
        return self.model.learner.unit


def _error_parts(err: ValidationError, prefix: str = "") -> list[str]:
    parts = []
    for e in err.errors():
        loc = ".".join([prefix] * bool(prefix) + [str(p) for p in e["loc"]])
        msg = e["msg"].removeprefix("Value error, ")
        got = e.get("input")
        if e["type"] == "extra_forbidden":
            parts.append(f"{loc}: unknown field; remove it or check its spelling")
        elif e["type"] == "missing":
            parts.append(f"{loc}: required field is missing")
        elif loc and not isinstance(got, dict):
            parts.append(f"{loc}: {msg} (got {got!r})")
        else:
            parts.append(f"{loc + ': ' if loc else ''}{msg}")
    return parts


def _format_errors(err: ValidationError, source: str) -> str:
    return f"{source}: " + "; ".join(_error_parts(err))


def parse_spec(model: type[BaseModel], data: Any, source: str = "job spec") -> Any:
    """Validate ``data`` as ``model``, turning pydantic's error into one named SpecError."""
    try:
        return model.model_validate(data)
    except ValidationError as err:
        raise SpecError(_format_errors(err, source)) from None


M = TypeVar("M", bound=BaseModel)


def spec_from(model: type[M], data: M | dict | str | Path, source: str) -> M:
    """A validated ``model`` from an instance, a mapping or a YAML file path — the one way every
    job's ``parse_*_spec`` reads its input; SpecError names the field (and the file)."""
    if isinstance(data, model):
        return data
    if isinstance(data, (str, Path)):
        return parse_spec(model, load_yaml(data), source=str(data))
    return parse_spec(model, data, source=source)


def load_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML job file into a mapping, with errors that name the file."""
    p = Path(path)
    if not p.is_file():
        raise SpecError(f"config file {str(p)!r} does not exist; pass --config <job.yaml>")
    try:
        data = yaml.safe_load(p.read_text())
    except yaml.YAMLError as err:
        raise SpecError(f"{p}: not valid YAML: {err}") from None
    if not isinstance(data, dict):
        raise SpecError(
            f"{p}: a job file must be a YAML mapping of fields, got {type(data).__name__}"
        )
    return data


def load_train_spec(path: str | Path) -> TrainJobSpec:
    """Load and validate a training job file."""
    return parse_spec(TrainJobSpec, load_yaml(path), source=str(path))


def _check_elastic(spec: TrainJobSpec) -> None:
    # A restart on fewer (or more) workers loads the newest checkpoint on a different number
    # of ranks: only checkpoints that hold the whole state in one piece load that way.
    if not spec.model.learner.takes_strategy:
        raise ValueError(
            f"scaling.min_workers (elastic training) trains torch models; model.kind is "
            f"{spec.model.kind}: remove scaling.min_workers or set model.kind: torch"
        )
    strategy = get_strategy(spec.scaling.strategy.kind)
    if not strategy.elastic:
        raise ValueError(
            f"scaling.min_workers (elastic training) needs checkpoints that load on any number "
            f"of workers; scaling.strategy {strategy.name} shards them over a fixed number: "
            "remove scaling.min_workers or use strategy ddp"
        )
