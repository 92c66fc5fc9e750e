"""Warm start from earlier tuning jobs: seeds for the searcher, and rows for the leaderboard.

identical  same data and algorithm: every completed parent trial becomes a (config, result)
           pair the searcher learns from without running it again.
transfer   other data or a changed space: the parents' best configurations, clipped into the
           new space (or dropped, with the reason logged), are evaluated first.

A parameter the new space adds was not searched by the parent, but its trials still trained
with some value: the one in the parent's saved training job (with the trial's config applied),
else the learner's default for it. That value seeds the new dimension.
"""

from __future__ import annotations

import copy
import logging
import math
from dataclasses import dataclass, field
from typing import Any

from ray_apps import settings
from ray_apps.errors import NotFoundError, SpecError
from ray_apps.learners import Learner, get_learner, learner_names
from ray_apps.training import saved_job
from tuning import leaderboard
from tuning.searchers import TAKES_REWARDS
from tuning.space import fit_to_space, lookup
from tuning.spec import TuneJobSpec

log = logging.getLogger("raymaker.tuning")


@dataclass
class Seeds:
    points: list[dict[str, Any]] = field(default_factory=list)  # configs the searcher gets
    rewards: list[float] = field(default_factory=list)  # their results (identical mode)
    parent_rows: list[dict[str, Any]] = field(default_factory=list)  # for the leaderboard


def parent_dir(name: str, storage: str) -> str:
    """A parent job's folder: a path as given, or a run name under the storage root."""
    for candidate in ([name] if ("/" in name or "://" in name) else []) + [f"{storage}/{name}"]:
        if leaderboard.load(candidate) is not None:
            return candidate
    raise NotFoundError(
        f"warm_start parent {name!r} has no leaderboard under {storage!r}; name a finished "
        "tuning job (its run name or folder)"
    )


def seeds(spec: TuneJobSpec, storage: str | None = None) -> Seeds:
    if spec.warm_start is None:
        return Seeds()
    ws = spec.warm_start
    if ws.mode == "identical" and spec.strategy.searcher not in TAKES_REWARDS | {"random"}:
        raise SpecError(
            f"warm_start.mode identical with searcher {spec.strategy.searcher} would run the "
            "parents' trials again; use searcher bayesian (learns from their results) or random"
        )
    root = storage or settings.storage_path()
    out = Seeds()
    seen: set[str] = set()
    for name in ws.parents:
        folder = parent_dir(name, root)
        rows = leaderboard.load(folder) or []
        train = _parent_train(folder)
        learner = _learner_of(train, spec)
        finished = [r for r in rows if not math.isnan(r["objective"]) and r["status"] != "ERROR"]
        if ws.mode == "identical":
            picked = finished
        else:
            picked = leaderboard.ranked(finished, spec.objective.mode)[: ws.top_k]
        for row in picked:
            config = fit_to_space(
                row["config"],
                spec.search_space,
                f"{name} trial {row['trial']}",
                fallback=_trained_with(train, row["config"], learner),
            )
            if config is None or repr(sorted(config.items())) in seen:
                continue
            seen.add(repr(sorted(config.items())))
            out.points.append(config)
            out.rewards.append(row["objective"])
            out.parent_rows.append(row | {"source": f"parent {name}"})
    if ws.mode == "transfer" or spec.strategy.searcher not in TAKES_REWARDS:
        out.rewards = []  # evaluated first (transfer), or only listed (identical + random)
    if ws.mode == "identical" and spec.strategy.searcher == "random":
        out.points = []  # random search cannot learn from them; they are not re-run either
    log.info("warm start: %d seed configuration(s) from %s", len(out.parent_rows), ws.parents)
    return out


def _parent_train(folder: str) -> dict[str, Any] | None:
    """The training job a parent tuning job ran its trials on, as it saved it."""
    return ((saved_job(folder) or {}).get("tune_spec") or {}).get("train")


def _learner_of(train: dict[str, Any] | None, spec: TuneJobSpec) -> Learner:
    kind = ((train or {}).get("model") or {}).get("kind")
    return get_learner(kind) if kind in learner_names() else spec.train.model.learner


def _trained_with(train: dict[str, Any] | None, config: dict[str, Any], learner: Learner):
    """``path`` → (the value a parent trial trained with, where it was found), or None."""
    job = copy.deepcopy(train or {})
    for path, value in config.items():
        *parents, leaf = path.split(".")
        node = job
        for key in parents:
            node = node.setdefault(key, {})
        node[leaf] = value

    def fallback(path: str) -> tuple[Any, str] | None:
        value = lookup(job, path) if train is not None else None
        if value is not None:
            return value, "the parent's training job"
        value = learner.default(path)
        return None if value is None else (value, f"the {learner.name} default")

    return fallback
