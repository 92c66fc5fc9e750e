"""Run one training job: data → this process or a Ray Train worker group → artifact → MLflow."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Any

from ray_apps import settings, tracking
from ray_apps._ray_runtime import ensure_ray
from ray_apps.artifact import Model, load_model
from ray_apps.errors import SpecError, StoppedByRule, TrainingError
from ray_apps.spec import TrainJobSpec, load_train_spec, parse_spec
from ray_apps.training.envelope import (
    RunFolder,
    TrackedRun,
    find_run_folder,
    new_run_folder,
    package_model,
    tracked_run,
)
from ray_apps.training.health.actions import STOP_TAG
from ray_apps.training.job import build_trainer, fit_trainer, prepare_data, tables
from ray_apps.training.local import fit_local
from ray_apps.training.loop_config import FaultPlan, LoopConfig, MetricTarget, loop_config
from ray_apps.training.placement import choose_placement
from ray_apps.training.preflight import needs_preflight, run_preflight


@dataclass(frozen=True)
class TrainResult:
    """What a finished training run left behind."""

    run_name: str
    run_dir: str
    artifact_path: str
    metrics: dict[str, float]  # on the held-out test split
    history: list[dict[str, Any]]  # per-epoch (or per-round) metrics
    attempts: list[dict[str, Any]] = field(default_factory=list)  # one per (re)start
    mlflow_run_id: str = ""
    tracking_uri: str = ""
    # Wall seconds per phase of this call (data, mlflow, ray, fit, package, …): where a small
    # job's time goes (bench/small_job.py prints them).
    phases: dict[str, float] = field(default_factory=dict)
    health_report: str | None = None  # its HTML page, for a job with a health: section

    @property
    def restarts(self) -> int:
        return max(len(self.attempts) - 1, 0)

    def load_model(self) -> Model:
        return load_model(self.artifact_path)


def run_training(
    spec: TrainJobSpec | dict | str | os.PathLike | None = None,
    *,
    resume: str | None = None,
    storage: str | None = None,
) -> TrainResult:
    """Train ``spec`` on Ray Train and return the result; never exits the interpreter.

    ``spec`` may be a TrainJobSpec, a dict, or a YAML path. ``resume`` names an earlier run
    (its folder name under storage, or its full path) to continue from its last checkpoint;
    the job spec is then read from the run itself — or, given with ``spec``, the fixed job
    (the same dataset, model and tracking; hyperparameters, health and the rest may change).

    Raises :class:`StoppedByRule` when a health rule with action ``stop`` ended the run: its
    last good checkpoint is kept, nothing is packaged, the MLflow run ends KILLED and the run
    log's state is ``stopped_by_rule``.
    """
    if resume:
        spec, folder = _resumed(resume, spec, storage)
    else:
        spec = as_train_spec(spec)
        folder = new_run_folder(spec.name, storage or spec.storage)
    tracking.resolve_uri(spec.tracking.uri)  # refuse a throwaway store before any work
    _check_health_webhook(spec)
    folder.announce("run")
    clock = _Phases()
    data, pre = prepare_data(spec)
    clock.lap("data")
    with tracked_run(
        folder,
        spec.tracking,
        params=tracking.flatten(spec.model_dump(mode="json")),
        tags={"raymaker.run_dir": folder.run_dir, "raymaker.data_fingerprint": data.fingerprint},
    ) as run:
        folder.save_job({"spec": spec.model_dump(mode="json"), "mlflow_run_id": run.run_id})
        if folder.resumed and folder.log.state() is not None:  # a resume after a rule's stop
            folder.log.clear_state()
            tracking.delete_tag(run.uri, run.run_id, STOP_TAG)
        config = loop_config(spec, data, pre).for_run(
            folder.run_dir,
            FaultPlan.from_spec(spec.failure.inject),
            MetricTarget(run.uri, run.run_id),
        )
        clock.lap("mlflow_open")
        frames = tables(data, pre)
        placement = choose_placement(
            spec,
            on_cluster=bool(os.environ.get("RAY_ADDRESS")),
            train_bytes=int(frames["train"].memory_usage(deep=True).sum()),
        )
        print(placement.line, flush=True)
        if needs_preflight(spec, placement.mode == "distributed"):
            ensure_ray()
            root = folder.run_dir.rstrip("/").rsplit("/", 1)[0]
            print(run_preflight(spec, root, frames["train"]).line, flush=True)
            clock.lap("preflight")
        try:
            if placement.mode == "local":
                checkpoint = fit_local(spec, config, frames)
            else:
                ensure_ray()
                clock.lap("ray")
                checkpoint = _fit(spec, config, frames, folder.run_dir).checkpoint
        except Exception as err:
            if not _stopped(folder.log.state()):
                _health_report(folder, spec, run, f"failed ({type(err).__name__})")
                raise
            # A clock rule's stop ends a worker group by ending rank 0 (its peers may be stuck):
            # with no restart left Ray Train reports a failure; the run log has the stop.
            checkpoint = None
        clock.lap("fit")
        report = _health_report(folder, spec, run, _ended(folder.log.state(), spec.unit))
        if report is not None:
            clock.lap("health_report")
        _raise_if_stopped(folder, spec, report)
        if checkpoint is None:
            raise TrainingError(f"training run {folder.name} ended without a checkpoint")
        packaged = package_model(folder, run, spec, data, pre, checkpoint)
        clock.lap("package")
    clock.lap("mlflow_close")
    return TrainResult(
        run_name=folder.name,
        run_dir=folder.run_dir,
        artifact_path=packaged.artifact_path,
        metrics=packaged.metrics,
        history=folder.log.history(),
        attempts=folder.log.attempts(),
        mlflow_run_id=run.run_id,
        tracking_uri=run.uri,
        phases=clock.phases,
        health_report=report,
    )


class _Phases:
    def __init__(self):
        self.phases: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.phases[name] = round(now - self._last, 4)
        self._last = now


def as_train_spec(spec: Any) -> TrainJobSpec:
    if isinstance(spec, TrainJobSpec):
        return spec
    if isinstance(spec, dict):
        return parse_spec(TrainJobSpec, spec)
    if isinstance(spec, (str, os.PathLike)):
        return load_train_spec(spec)
    raise SpecError("run_training needs a TrainJobSpec, a dict or a YAML path (or resume=<run>)")


def _resumed(resume: str, spec: Any, storage: str | None) -> tuple[TrainJobSpec, RunFolder]:
    roots = [storage or settings.storage_path()]
    given = None if spec is None else as_train_spec(spec)
    if given is not None:
        roots.insert(0, storage or given.storage or settings.storage_path())
    saved, folder = find_run_folder(resume, roots, "spec", "run")
    before = parse_spec(TrainJobSpec, saved, source=f"{folder.run_dir} job")
    if given is None:
        return before, folder
    changed = [f for f in _SAME_ON_RESUME if getattr(given, f) != getattr(before, f)]
    if changed:
        raise SpecError(
            f"--resume {folder.name} continues that run's model from its checkpoint, so the job "
            f"may not change {', '.join(changed)}; keep them as the run had them, or start a "
            "new run without --resume"
        )
    return given, folder


# What a checkpoint and the run's MLflow run depend on: a resumed job keeps them.
_SAME_ON_RESUME = ("dataset", "model", "tracking")


def _check_health_webhook(spec: TrainJobSpec) -> None:
    """An alerting rule's webhook variables are read now, not at the first alert."""
    hook = spec.health.webhook if spec.health is not None else None
    if hook is not None:
        from ray_apps.webhook import webhook_secret, webhook_url

        webhook_url(hook, "health.webhook")
        webhook_secret(hook, "health.webhook")


def _health_report(
    folder: RunFolder, spec: TrainJobSpec, run: TrackedRun, ended: str
) -> str | None:
    """Write the run's health report into its folder, log it to its MLflow run and record it
    in the run log; returns where it is. Only for a job with a ``health:`` section that ran an
    epoch. The driver does it once the loop is over; a report that cannot be written is a
    console line, never the run's failure."""
    if spec.health is None or not folder.log.history():
        return None
    from ray_apps.training.health.report import MLFLOW_DIR, write_health_report

    rules = [r.name for r in spec.health.rules]
    try:
        path = write_health_report(
            folder.run_dir, rules, run_id=folder.name, state=ended, unit=spec.unit
        )
        tracking.log_file(run.uri, run.run_id, path, MLFLOW_DIR)
        folder.log.health_report_written(path)
    except Exception as err:  # the run's own outcome matters more than its report
        print(f"[raymaker] health report not written: {type(err).__name__}: {err}", flush=True)
        return None
    print(f"[raymaker] health report: {path}", flush=True)
    return path


def _stopped(state: dict | None) -> bool:
    return state is not None and state.get("state") == "stopped_by_rule"


def _ended(state: dict | None, unit: str) -> str:
    """How the run ended, for its health report."""
    if not _stopped(state):
        return "finished"
    return f"stopped by rule {state['rule']} at {unit} {state['epoch']}: {state['message']}"


def _raise_if_stopped(folder: RunFolder, spec: TrainJobSpec, report: str | None) -> None:
    state = folder.log.state()
    if not _stopped(state):
        return
    unit, kept = spec.unit, state.get("checkpoint_epoch")
    kept_line = (
        f"its last good checkpoint ({unit} {kept}) is kept" if kept else "no checkpoint was kept"
    )
    report_line = f" Its health report: {report}." if report else ""
    raise StoppedByRule(
        f"training run {folder.name} was stopped by health rule {state['rule']} at {unit} "
        f"{state['epoch']}: {state['message']}; {kept_line} and no model was packaged.{report_line}"
        f" Fix the job (e.g. hyperparameters), then continue it with `raymaker train --config "
        f"<fixed.yaml> --resume {folder.name}`",
        run=folder.name,
        rule=state["rule"],
        epoch=state["epoch"],
        value=state.get("value"),
        checkpoint_epoch=kept,
    )


def _webhook_env(spec: TrainJobSpec) -> dict | None:
    """The health webhook's variables, for rank 0 to alert from its worker: on a cluster the
    workers do not inherit this process's environment (the names are checked before)."""
    hook = spec.health.webhook if spec.health is not None else None
    names = [n for n in (hook.url_env, hook.secret_env) if n] if hook else []
    if not names:
        return None
    return {"env_vars": {n: os.environ[n] for n in names if n in os.environ}}


def _fit(spec: TrainJobSpec, config: LoopConfig, frames: dict, run_dir: str):
    import ray.train

    storage_root, name = run_dir.rsplit("/", 1)
    run_config = ray.train.RunConfig(
        name=name,
        storage_path=storage_root,
        checkpoint_config=ray.train.CheckpointConfig(num_to_keep=spec.checkpoint.keep),
        failure_config=ray.train.FailureConfig(max_failures=spec.failure.max_failures),
        # Ray Train's per-report INFO lines drown the per-epoch progress; warnings still show.
        logging_config=ray.train.LoggingConfig(log_level="WARNING"),
        worker_runtime_env=_webhook_env(spec),
    )
    trainer = build_trainer(spec, config, frames, run_config)
    try:
        result = fit_trainer(trainer, spec)
    except ray.train.TrainingFailedError as err:
        raise TrainingError(
            f"training run {name} failed after {spec.failure.max_failures} restart(s) allowed "
            f"by failure.max_failures: {err}. Fix the cause, then continue it with "
            f"`raymaker train --resume {name}`"
        ) from err
    return result  # its checkpoint may be None after a health rule's stop: the caller checks
