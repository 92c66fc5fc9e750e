"""Trials in this process: a tuning job whose trials are small runs them one after another here,
driven by Optuna's ask-and-tell, instead of through Ray Tune.

A Ray Tune trial costs 0.2–0.4 s of bookkeeping on this machine (the controller's event loop,
actor calls, experiment state, result processing) against ~0.02 s for an XGBoost fit of 60
rounds on a few hundred rows: on such data a tuning job was 14× slower per trial than Optuna
in one process. Here a trial is a function call: the training loop runs with a session that
keeps its metrics, writes its checkpoint to the trial's folder and asks the pruner after each
epoch; Ray is not started.

The strategies map onto Optuna's own: ``random`` → ``RandomSampler``, ``grid`` → every
combination enqueued once, ``bayesian`` → ``TPESampler`` (which the Ray path's OptunaSearch
wraps); ``asha`` → ``SuccessiveHalvingPruner`` (asynchronous successive halving, grace as its
minimum resource), ``hyperband`` → ``HyperbandPruner``, ``median`` → ``MedianPruner``. The
default trial and seed points run first (enqueued); an identical warm start's finished trials
are added as completed trials, learned from and not run. Each finished trial is recorded in the
run folder as it ends, so a resumed job keeps them and runs only what is left.

The results have the shape the leaderboard, the MLflow child runs and the packaging read from
Ray Tune's ``ResultGrid`` (``LocalTrialResult``), so everything after the search is shared.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import math
import os
import shutil
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from tuning.space import apply
from tuning.spec import ParamSpec, TuneJobSpec
from tuning.trainable import STOPPED_KEY, TrialContext, TuneSession

TRIALS_DIR = "trials"
RESULT_FILE = "result.json"
CHECKPOINT_DIR = "checkpoint"
# Searchers and schedulers with an Optuna counterpart here (others run on Ray Tune).
SEARCHERS = ("random", "grid", "bayesian")
SCHEDULERS = ("fifo", "asha", "hyperband", "median")


@dataclass(frozen=True)
class FolderCheckpoint:
    """A checkpoint in a local folder, read the way a Ray ``Checkpoint`` is (``as_directory``),
    without importing Ray."""

    path: str

    @contextlib.contextmanager
    def as_directory(self):
        yield self.path


@dataclass
class LocalTrialResult:
    """One trial, as Ray Tune's ``Result`` offers it to the rest of the tuning job."""

    path: str
    config: dict[str, Any]
    metrics: dict[str, Any]
    metrics_dataframe: pd.DataFrame | None
    error: str | None = None
    checkpoint: FolderCheckpoint | None = None  # the trial's newest checkpoint


def unsupported(spec: TuneJobSpec) -> list[str]:
    """What in ``spec`` only the Ray Tune path honours, each named by its field."""
    why = []
    if spec.trial.workers != 1:
        why.append(f"trial.workers {spec.trial.workers}")
    if spec.strategy.searcher not in SEARCHERS:
        why.append(f"strategy.searcher {spec.strategy.searcher}")
    if spec.strategy.scheduler not in SCHEDULERS:
        why.append(f"strategy.scheduler {spec.strategy.scheduler}")
    chosen = [k for k, p in spec.search_space.items() if p.type == "choice"]
    if spec.strategy.searcher == "grid" and chosen:
        why.append(f"search_space {chosen[0]}: type choice beside a grid")
    return why


def distributions(space: dict[str, ParamSpec]) -> dict[str, Any]:
    """Optuna's distribution for each dimension (Tune's ``randint`` excludes ``high``)."""
    import optuna.distributions as d

    # Choices such as hidden_sizes [[32], [64, 32]] are lists; Optuna warns that a persistent
    # storage could not hold them, and this study lives in memory.
    warnings.filterwarnings(
        "ignore", message="Choices for a categorical distribution", category=UserWarning
    )

    out: dict[str, Any] = {}
    for path, p in space.items():
        if p.type == "uniform":
            out[path] = d.FloatDistribution(p.low, p.high)
        elif p.type == "loguniform":
            out[path] = d.FloatDistribution(p.low, p.high, log=True)
        elif p.type == "quniform":
            out[path] = d.FloatDistribution(p.low, p.high, step=p.q)
        elif p.type == "randint":
            out[path] = d.IntDistribution(int(p.low), int(p.high) - 1)
        else:  # choice, grid
            out[path] = d.CategoricalDistribution(list(p.values))
    return out


def run_local_trials(
    spec: TuneJobSpec,
    ctx: TrialContext,
    *,
    run_dir: str,
    points: list[dict[str, Any]],
    evaluated: list[tuple[dict[str, Any], float]],
    grace_rounds: int,
    say: Callable[[str], None] = print,
) -> list[LocalTrialResult]:
    """Run the job's trials here, one at a time; every trial's result, in start order."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    metric, mode = spec.objective.metric, spec.objective.mode
    dists = distributions(spec.search_space)
    study = optuna.create_study(
        direction="minimize" if mode == "min" else "maximize",
        sampler=_sampler(spec),
        pruner=_pruner(spec, grace_rounds),
    )
    for config, value in evaluated:  # an identical warm start's finished trials
        study.add_trial(optuna.trial.create_trial(params=config, distributions=dists, value=value))
    root = Path(run_dir, TRIALS_DIR)
    done = _finished(root)
    for result in done:  # a resumed job: what ran before counts, and is not run again
        value = result.metrics.get(metric)
        if value is not None and math.isfinite(value) and not result.error:
            study.add_trial(
                optuna.trial.create_trial(params=result.config, distributions=dists, value=value)
            )
    # The default trial and seed points first; a grid is every combination, each enqueued
    # (Optuna's GridSampler stops the study from inside tell(), which ask-and-tell refuses).
    for config in (points + _grid(spec))[len(done) :]:
        study.enqueue_trial(config, skip_if_exists=False)
    total = _trial_count(spec)
    deadline = time.monotonic() + spec.budget.time_budget_s if spec.budget.time_budget_s else None
    results = list(done)
    while len(results) < total and (deadline is None or time.monotonic() < deadline):
        index = len(results) + 1
        trial = study.ask(dists)
        for attempt in range(spec.trial.max_failures + 1):  # as Ray Tune retries a trial
            result, pruned = _run_one(spec, ctx, trial, root, index, metric)
            if not result.error:
                break
            if attempt < spec.trial.max_failures:
                say(f"[raymaker] trial {index} failed ({result.error}); retrying it")
                shutil.rmtree(result.path)
        value = result.metrics.get(metric)
        if result.error or value is None or not math.isfinite(value):
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
        elif pruned:
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
        else:
            study.tell(trial, value)
        _record(result)
        results.append(result)
        say(_line(result, index, total, metric, spec.train.epochs))
    return results


def _trial_count(spec: TuneJobSpec) -> int:
    if spec.strategy.searcher != "grid":
        return spec.budget.max_trials
    size = 1
    for p in spec.search_space.values():
        size *= len(p.values)
    return size  # every combination once, as the Ray path's grid runs it


def _sampler(spec: TuneJobSpec):
    import optuna

    seed = spec.strategy.seed
    if spec.strategy.searcher == "bayesian":
        return optuna.samplers.TPESampler(seed=seed, n_startup_trials=4)
    return optuna.samplers.RandomSampler(seed=seed)  # a grid's trials are all enqueued


def _grid(spec: TuneJobSpec) -> list[dict[str, Any]]:
    if spec.strategy.searcher != "grid":
        return []
    names = list(spec.search_space)
    values = [spec.search_space[n].values for n in names]
    return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*values)]


def _pruner(spec: TuneJobSpec, grace_rounds: int):
    import optuna

    s, max_t = spec.strategy, spec.train.epochs
    if s.scheduler == "asha":
        return optuna.pruners.SuccessiveHalvingPruner(
            min_resource=max(1, min(grace_rounds, max_t)), reduction_factor=s.reduction_factor
        )
    if s.scheduler == "hyperband":
        return optuna.pruners.HyperbandPruner(
            min_resource=1, max_resource=max_t, reduction_factor=s.reduction_factor
        )
    if s.scheduler == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=grace_rounds)
    return optuna.pruners.NopPruner()


def _run_one(spec: TuneJobSpec, ctx: TrialContext, trial, root: Path, index: int, metric: str):
    """Train one trial; (its result, whether the pruner stopped it)."""
    from ray_apps.training import loop_config

    trial_id = f"{index:05d}"
    path = root / f"trial_{trial_id}"
    path.mkdir(parents=True, exist_ok=True)
    config = dict(trial.params)
    session = None
    started = time.time()
    error = None
    try:
        trial_spec = apply(ctx.base, config)
        loop_cfg = loop_config(trial_spec, ctx.data, ctx.pre)
        session = LocalTrialSession(ctx, loop_cfg.health, trial, metric, path)
        trial_spec.model.learner.loop_function()(loop_cfg, session)
    except Exception as err:  # noqa: BLE001 - a failed trial is a row, as on Ray Tune
        error = f"{type(err).__name__}: {err}"
    if session is None:
        session = LocalTrialSession(ctx, None, trial, metric, path)
    history = session.history
    last = dict(history[-1]) if history else {}
    last.update(
        trial_id=trial_id,
        experiment_tag=f"{index}_local",
        time_total_s=time.time() - started,
    )
    frame = pd.DataFrame(history) if history else None
    result = LocalTrialResult(str(path), config, last, frame, error, session.checkpoint())
    return result, session.pruned


class LocalTrialSession(TuneSession):
    """The training loops' session in a trial run here: metrics kept, the checkpoint written
    into the trial's folder, the pruner asked after each epoch it hears of."""

    def __init__(self, ctx: TrialContext, health, trial, metric: str, path: Path):
        super().__init__(ctx.frames, ctx.every_epoch, health)
        self.trial, self.metric, self.path = trial, metric, path
        self.history: list[dict[str, Any]] = []
        self.pruned = False
        self._started = time.time()

    def restore(self):
        return None  # a trial here always starts from its first epoch

    def checkpoint(self) -> FolderCheckpoint | None:
        folder = self.path / CHECKPOINT_DIR
        return FolderCheckpoint(str(folder)) if folder.is_dir() else None

    def _send(self, metrics: dict[str, Any], epoch: int, save) -> bool:
        now = time.time()
        row = {**metrics, "epoch": epoch, "timestamp": now, "time_total_s": now - self._started}
        self.history.append(row)
        if save is not None:
            self._save(save)
        if STOPPED_KEY in metrics:
            return True
        value = metrics.get(self.metric)
        if value is None or not math.isfinite(float(value)):
            return False
        self.trial.report(float(value), epoch)
        self.pruned = self.trial.should_prune()
        return self.pruned

    def _save(self, save) -> None:
        # Written beside the newest checkpoint, then put in its place.
        staged = tempfile.mkdtemp(dir=self.path, prefix=".ckpt-")
        save(staged)
        target = self.path / CHECKPOINT_DIR
        if target.exists():
            shutil.rmtree(target)
        os.rename(staged, target)


def _record(result: LocalTrialResult) -> None:
    frame = result.metrics_dataframe
    record = {
        "config": result.config,
        "metrics": result.metrics,
        "history": [] if frame is None else frame.to_dict("records"),
        "error": result.error,
    }
    target = Path(result.path, RESULT_FILE)
    tmp = target.with_name(f".{RESULT_FILE}.tmp")
    tmp.write_text(json.dumps(record, default=float))
    tmp.replace(target)


def _finished(root: Path) -> list[LocalTrialResult]:
    """The trials an earlier run of this job finished, in start order."""
    out = []
    for path in sorted(root.glob("trial_*")):
        result_file = path / RESULT_FILE
        if not result_file.is_file():
            break  # interrupted here: this trial and any after it run again
        saved = json.loads(result_file.read_text())
        folder = path / CHECKPOINT_DIR
        checkpoint = FolderCheckpoint(str(folder)) if folder.is_dir() else None
        frame = pd.DataFrame(saved["history"]) if saved["history"] else None
        out.append(
            LocalTrialResult(
                str(path), saved["config"], saved["metrics"], frame, saved["error"], checkpoint
            )
        )
    for path in sorted(root.glob("trial_*"))[len(out) :]:
        shutil.rmtree(path)  # what an interrupted trial left
    return out


def _line(result: LocalTrialResult, index: int, total: int, metric: str, max_t: int) -> str:
    m = result.metrics
    if result.error:
        return f"[raymaker] trial {index}/{total} failed: {result.error}"
    value = m.get(metric)
    shown = f"{value:.4f}" if isinstance(value, (int, float)) else "n/a"
    epochs = int(m.get("epoch", 0) or 0)
    stopped = f", stopped at {epochs}/{max_t}" if 0 < epochs < max_t else ""
    if m.get(STOPPED_KEY):
        stopped = f", stopped by health rule {m[STOPPED_KEY]}"
    return (
        f"[raymaker] trial {index}/{total}: {metric} {shown}{stopped} "
        f"({m.get('time_total_s', 0.0):.2f} s)"
    )
