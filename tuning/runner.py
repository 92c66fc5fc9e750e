"""Run one tuning job: validate → search (early stopping, warm start; trials in this process or
on Ray Tune: tuning/trial_placement.py) → leaderboard → best model artifact → MLflow parent run
with one child run per trial."""

from __future__ import annotations

import logging
import math
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ray_apps import settings, tracking
from ray_apps._ray_runtime import ensure_ray
from ray_apps.errors import SpecError, TrainingError
from ray_apps.spec import parse_spec
from ray_apps.training import (
    RunFolder,
    find_run_folder,
    new_run_folder,
    package_model,
    prepare_data,
    reported_metrics,
    tables,
    tracked_run,
)
from tuning import leaderboard
from tuning.default_point import DefaultPoint, FirstPoint, first_points, label_rows
from tuning.grace import Grace, resolve_grace
from tuning.local_trials import run_local_trials
from tuning.options import TuneOptions, tune_options
from tuning.progress import notebook_reporter
from tuning.schedulers import create_scheduler
from tuning.searchers import create_searcher
from tuning.space import apply, grid_size, param_space
from tuning.spec import TuneJobSpec, load_tune_spec
from tuning.state_backup import StateBackup, restore_if_corrupt, settle
from tuning.trainable import CHECKPOINT_PATH_KEY, TrialContext, run_trial
from tuning.trial_placement import TrialPlacement, choose_trial_placement
from tuning.warm_start import Seeds, seeds

log = logging.getLogger("raymaker.tuning")


@dataclass(frozen=True)
class TuneResult:
    """What a finished tuning job left behind."""

    run_name: str
    run_dir: str
    leaderboard: list[dict[str, Any]]  # best first; parent trials marked by `source`
    best_config: dict[str, Any]
    best_objective: float
    artifact_path: str  # the best trial's model, in the training artifact format
    metrics: dict[str, float]  # the best model's held-out test metrics
    plot_path: str
    mlflow_run_id: str
    tracking_uri: str


def run_tuning(
    spec: TuneJobSpec | dict | str | os.PathLike | None = None,
    *,
    resume: str | None = None,
    storage: str | None = None,
) -> TuneResult:
    """Tune ``spec`` (trials here or on Ray Tune: ``trial.mode``); ``resume`` continues an
    interrupted job by run name/folder."""
    if resume:
        spec, folder = _resumed(resume, storage)
    else:
        spec = spec if isinstance(spec, TuneJobSpec) else _load(spec)
        folder = new_run_folder(spec.name, storage or spec.storage)
    tracking.resolve_uri(spec.train.tracking.uri)  # refuse a throwaway store before any work
    folder.announce("tuning")
    data, pre = prepare_data(spec.train)
    _check_metric(spec, data)
    warm = seeds(spec, folder.root) if not resume else _saved_seeds(folder)
    start, first = first_points(spec, warm) if not resume else _saved_first(folder)
    grace = resolve_grace(spec.strategy, spec.train.epochs, spec.search_space)
    _announce_plan(spec, grace, start)
    ctx = TrialContext(
        spec.train,
        data,
        pre,
        tables(data, pre),
        spec.trial.workers,
        every_epoch=spec.strategy.scheduler != "fifo",
    )
    placement = _placement(spec, ctx, folder, resumed=bool(resume))
    print(placement.line, flush=True)
    resolved = {
        "grace_period": grace.rounds,
        "default_trial": start.describe(),
        "trial_placement": placement.mode,
    }
    with tracked_run(
        folder,
        spec.train.tracking,
        params=tracking.flatten(
            {"tuning": spec.model_dump(mode="json", exclude={"train"}) | {"resolved": resolved}}
        ),
        tags={"raymaker.run_dir": folder.run_dir, "raymaker.kind": "tuning"},
    ) as run:
        folder.save_job(
            {
                "tune_spec": spec.model_dump(mode="json"),
                "mlflow_run_id": run.run_id,
                "seeds": {
                    "points": warm.points,
                    "rewards": warm.rewards,
                    "parent_rows": warm.parent_rows,
                },
                "default_point": asdict(start),
                "first_points": [asdict(p) for p in first],
                "grace": asdict(grace),
                "trial_placement": placement.mode,
            }
        )
        if placement.mode == "local":
            results = run_local_trials(
                spec,
                ctx,
                run_dir=folder.run_dir,
                points=[p.config for p in first],
                evaluated=list(zip(warm.points, warm.rewards, strict=True)) if warm.rewards else [],
                grace_rounds=grace.rounds,
            )
        else:
            results = _fit(spec, ctx, warm, first, grace, folder.run_dir, resume=bool(resume))
        rows, board, best_row = _leaderboard(spec, results, warm, first, folder)
        plot_path = leaderboard.plot(
            rows,
            folder.run_dir,
            spec.objective.metric,
            spec.objective.mode,
            spec.train.epochs,
        )
        best = next(r for r in results if r.path == best_row["path"])
        best_spec = apply(spec.train, best_row["config"])
        packaged = package_model(
            folder, run, best_spec, data, pre, _checkpoint_of(best), under="best"
        )
        _log_trials(run, rows, results)
    return TuneResult(
        run_name=folder.name,
        run_dir=folder.run_dir,
        leaderboard=board,
        best_config=best_row["config"],
        best_objective=best_row["objective"],
        artifact_path=packaged.artifact_path,
        metrics=packaged.metrics,
        plot_path=plot_path,
        mlflow_run_id=run.run_id,
        tracking_uri=run.uri,
    )


def _placement(spec: TuneJobSpec, ctx: TrialContext, folder: RunFolder, resumed: bool):
    """Where the trials run; a resumed job keeps where it ran (jobs before the choice: Ray)."""
    if resumed:
        mode = (folder.saved_job() or {}).get("trial_placement", "ray")
        return TrialPlacement(mode, "as the job ran before")
    return choose_trial_placement(
        spec,
        on_cluster=bool(os.environ.get("RAY_ADDRESS")),
        train_bytes=int(ctx.frames["train"].memory_usage(deep=True).sum()),
        local_storage="://" not in folder.run_dir,
    )


def _leaderboard(
    spec: TuneJobSpec, results, warm: Seeds, first: list[FirstPoint], folder: RunFolder
):
    """This job's rows, the saved leaderboard (with the parents'), and the best own row."""
    rows = leaderboard.rows_from_results(
        results, spec.objective.metric, spec.train.epochs, "this job"
    )
    label_rows(rows, first)
    own = leaderboard.ranked(rows, spec.objective.mode)
    if not own or math.isnan(own[0]["objective"]):
        raise TrainingError(
            f"tuning job {folder.name}: no trial reported "
            f"{spec.objective.metric}; see the trial errors above"
        )
    board = leaderboard.ranked(rows + warm.parent_rows, spec.objective.mode)
    leaderboard.save(board, folder.run_dir)
    print(f"[raymaker] {leaderboard.against_default(own, spec.objective.metric)}", flush=True)
    return rows, board, own[0]


def _announce_plan(spec: TuneJobSpec, grace: Grace, start: DefaultPoint) -> None:
    """The strategy as resolved (auto grace, the default trial), before any trial runs."""
    s, unit = spec.strategy, spec.train.model.learner.unit
    stopping = {
        "fifo": "no early stopping",
        "hyperband": f"reduction factor {s.reduction_factor} (brackets from max_t; no grace)",
    }.get(
        s.scheduler,
        f"grace {grace.rounds} of {spec.train.epochs} {unit}s ({grace.rule}), "
        f"reduction factor {s.reduction_factor}",
    )
    print(f"[raymaker] {s.searcher} searcher, {s.scheduler} scheduler: {stopping}", flush=True)
    print(f"[raymaker] {start.describe()}", flush=True)


def _log_trials(run, rows: list[dict[str, Any]], results) -> None:
    """One MLflow child run per trial, under the job's run."""
    for row in rows:
        result = next(r for r in results if r.path == row["path"])
        history = (
            [] if result.metrics_dataframe is None else result.metrics_dataframe.to_dict("records")
        )
        tracking.log_child_run(
            run.uri,
            run.run_id,
            f"trial-{row['trial']:03d}",
            row["config"],
            history,
            tags={"raymaker.trial_id": str(row["trial_id"])},
        )


def _load(spec: Any) -> TuneJobSpec:
    if isinstance(spec, (dict, str, os.PathLike)):
        return load_tune_spec(spec if isinstance(spec, dict) else Path(spec))
    raise SpecError("run_tuning needs a TuneJobSpec, a dict or a YAML path (or resume=<run>)")


def _check_metric(spec: TuneJobSpec, data) -> None:
    names = reported_metrics(spec.train, data)
    if spec.objective.metric not in names:
        raise SpecError(
            f"objective.metric {spec.objective.metric!r} is never reported by this "
            f"{spec.train.model.kind} job; it reports {sorted(names)}"
        )
    if spec.strategy.searcher == "grid" and grid_size(spec.search_space) > spec.budget.max_trials:
        raise SpecError(
            f"the grid has {grid_size(spec.search_space)} points but budget.max_trials is "
            f"{spec.budget.max_trials}; raise max_trials or shrink the grid"
        )


def _fit(
    spec: TuneJobSpec,
    ctx: TrialContext,
    warm: Seeds,
    first: list[FirstPoint],
    grace: Grace,
    run_dir: str,
    resume: bool,
):
    # Tune saves its experiment state every ~10 s by default: a driver killed after a trial
    # finished but before the next save would, on resume, run that trial again. Save every
    # second instead (a small JSON file); StateBackup keeps a copy a kill cannot truncate.
    os.environ.setdefault("TUNE_GLOBAL_CHECKPOINT_S", "1")
    ensure_ray()
    from ray import tune

    options = tune_options(spec, run_dir)
    trainable = tune.with_resources(
        tune.with_parameters(run_trial, ctx=ctx), options.trial_resources
    )
    if resume:
        if restore_if_corrupt(run_dir):
            log.warning(
                "tuning %s: experiment state was truncated; resuming from its last good copy",
                run_dir,
            )
        # A restored Tuner keeps its searcher, scheduler and space: pass none of them again.
        tuner = tune.Tuner.restore(
            run_dir, trainable, resume_unfinished=True, resume_errored=spec.trial.max_failures > 0
        )
        return _settled(tuner.fit(), run_dir)
    tuner = _new_tuner(spec, trainable, warm, first, grace, run_dir, options)
    return _settled(tuner.fit(), run_dir)


def _new_tuner(
    spec: TuneJobSpec,
    trainable,
    warm: Seeds,
    first: list[FirstPoint],
    grace: Grace,
    run_dir: str,
    options: TuneOptions,
):
    from ray import tune

    root, name = run_dir.rsplit("/", 1)
    metric, mode = spec.objective.metric, spec.objective.mode
    space = param_space(spec.search_space)
    searcher = create_searcher(
        spec.strategy.searcher,
        space=space,
        metric=metric,
        mode=mode,
        seed=spec.strategy.seed,
        points=[p.config for p in first],
        # An identical warm start's parent trials: learned from, not run again.
        evaluated=list(zip(warm.points, warm.rewards, strict=True)) if warm.rewards else [],
        max_concurrent=spec.budget.max_concurrent,
    )
    scheduler = create_scheduler(
        spec.strategy.scheduler,
        metric=metric,
        mode=mode,
        max_t=spec.train.epochs,
        grace_period=grace.rounds,
        reduction_factor=spec.strategy.reduction_factor,
    )
    return tune.Tuner(
        trainable,
        param_space=space,
        tune_config=tune.TuneConfig(
            # metric and mode live in the searcher and scheduler; Tune refuses them twice.
            search_alg=searcher,
            scheduler=scheduler if options.use_scheduler else None,
            num_samples=options.num_samples,
            max_concurrent_trials=options.max_concurrent_trials,
            time_budget_s=spec.budget.time_budget_s,
            reuse_actors=options.reuse_actors,
        ),
        run_config=tune.RunConfig(
            name=name,
            storage_path=root,
            failure_config=tune.FailureConfig(max_failures=spec.trial.max_failures),
            checkpoint_config=tune.CheckpointConfig(num_to_keep=options.checkpoint_num_to_keep),
            callbacks=[StateBackup(run_dir)] if options.back_up_state else [],
            verbose=1,
            progress_reporter=notebook_reporter(),
        ),
    )


def _settled(results, run_dir: str):
    if "://" not in run_dir:
        settle(run_dir)
    return results


def _checkpoint_of(result):
    if result.checkpoint is not None:
        return result.checkpoint
    path = (result.metrics or {}).get(CHECKPOINT_PATH_KEY)
    if path:
        import ray.train

        return ray.train.Checkpoint(path)
    raise TrainingError(f"the best trial {result.path} left no checkpoint")


def _resumed(resume: str, storage: str | None) -> tuple[TuneJobSpec, RunFolder]:
    roots = [storage or settings.storage_path()]
    saved, folder = find_run_folder(resume, roots, "tune_spec", "tuning job")
    return parse_spec(TuneJobSpec, saved, source=f"{folder.run_dir} job"), folder


def _saved_seeds(folder: RunFolder) -> Seeds:
    saved = (folder.saved_job() or {}).get("seeds") or {}
    return Seeds(saved.get("points", []), saved.get("rewards", []), saved.get("parent_rows", []))


def _saved_first(folder: RunFolder) -> tuple[DefaultPoint, list[FirstPoint]]:
    """The default trial and first points a resumed job planned (none before they existed)."""
    saved = folder.saved_job() or {}
    if "default_point" not in saved:
        return DefaultPoint(None, skipped="this job predates default trials"), []
    first = [FirstPoint(**p) for p in saved.get("first_points", [])]
    return DefaultPoint(**saved["default_point"]), first
