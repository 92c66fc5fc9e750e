"""Trial 1 runs the training job's own configuration, so tuning can only improve on it.

Seen (issue 18): a 10-trial Bayesian + ASHA job over the README's XGBoost job picked a best
trial whose held-out log loss was 0.5331, against 0.5317 for the job's own hyperparameters,
which no trial had tried. Now the searcher evaluates the job's own values of the searched keys
first (Ray Tune's ``points_to_evaluate``, which Optuna runs through ``enqueue_trial``), and
the best trial is chosen against them. ``strategy.evaluate_default_first: false`` turns it off.

Each searched key takes the value the training job sets, else the learner's default for it
(the hyperparameter model's field default; XGBoost's documented defaults for ``params``). The
whole point is dropped, with the reason printed and kept in the run log, when a key has
neither, or when a value lies outside its dimension (beyond low/high, off a quniform step, at
randint's excluded high, not one of the choices): a point with that one value clipped is no
longer the job's configuration and would prove nothing about it.

Searcher grid takes none: it visits exactly the listed combinations, and the job's own values
are among them only if the grid lists them. With a warm start the default runs first, then the
transfer seeds; a default identical to a parent's trial is not run again (the parent's row,
in the leaderboard, already shows it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from tuning.leaderboard import DEFAULT, SEARCHER
from tuning.space import lookup
from tuning.spec import ParamSpec, TuneJobSpec
from tuning.warm_start import Seeds


@dataclass(frozen=True)
class DefaultPoint:
    config: dict[str, Any] | None  # None: no default trial, see `skipped`
    origins: dict[str, str] = field(default_factory=dict)  # path → where its value came from
    skipped: str | None = None

    def describe(self) -> str:
        if self.config is None:
            return f"no default trial: {self.skipped}"
        values = ", ".join(f"{k}={v!r} ({self.origins[k]})" for k, v in self.config.items())
        return f"trial 1 runs the training job's own configuration: {values}"


@dataclass(frozen=True)
class FirstPoint:
    """A configuration the searcher evaluates before proposing its own, and who proposed it."""

    config: dict[str, Any]
    label: str  # DEFAULT, or "parent <job> trial <n>" for a transfer seed


def default_point(spec: TuneJobSpec) -> DefaultPoint:
    """The training job's own values of every searched key, or why there is no such point."""
    if not spec.strategy.evaluate_default_first:
        return DefaultPoint(None, skipped="strategy.evaluate_default_first is false")
    if spec.strategy.searcher == "grid":
        return DefaultPoint(
            None, skipped="searcher grid visits exactly its grid (list the job's values in it)"
        )
    job = spec.train.model_dump(mode="json", exclude_unset=True)
    learner = spec.train.model.learner
    config: dict[str, Any] = {}
    origins: dict[str, str] = {}
    for path, dim in spec.search_space.items():
        value, origin = lookup(job, path), "set in the training job"
        if value is None:
            value, origin = learner.default(path), f"the {learner.name} default"
        if value is None:
            return DefaultPoint(
                None,
                skipped=f"the training job does not set {path} and the {learner.name} learner "
                "has no default for it",
            )
        fitted = _in_dimension(value, dim)
        if fitted is None:
            return DefaultPoint(
                None, skipped=f"{path} = {value!r} ({origin}) is outside {_described(dim)}"
            )
        config[path], origins[path] = fitted, origin
    return DefaultPoint(config, origins)


def first_points(spec: TuneJobSpec, warm: Seeds) -> tuple[DefaultPoint, list[FirstPoint]]:
    """What the searcher runs before its own proposals: the default, then transfer seeds.

    Seeds given with their results (identical warm start, Bayesian searcher) are learned from,
    not run, so they are not among these points.
    """
    point = default_point(spec)
    # Seed points fitted into this space, then the parents' trials as they ran.
    parents = [(p, _parent_label(r)) for p, r in _seed_rows(warm)]
    parents += [(r["config"], _parent_label(r)) for r in warm.parent_rows]
    if point.config is not None:
        twin = next((label for c, label in parents if same_config(point.config, c)), None)
        if twin is not None:
            point = DefaultPoint(None, skipped=f"{twin} already ran the same configuration")
    first = [FirstPoint(point.config, DEFAULT)] if point.config is not None else []
    if not warm.rewards:
        first += [FirstPoint(p, _parent_label(r)) for p, r in _seed_rows(warm)]
    return point, first


def _seed_rows(warm: Seeds) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(point, parent row) pairs; warm_start.seeds appends both together, or clears the points
    (an identical warm start with the random searcher lists its parents without seeds)."""
    return list(zip(warm.points, warm.parent_rows, strict=True)) if warm.points else []


def label_rows(rows: list[dict[str, Any]], first: list[FirstPoint]) -> None:
    """Set each own row's ``proposed_by``: the first point it ran, else the searcher."""
    unclaimed = list(first)
    for row in sorted(rows, key=lambda r: r["trial"]):
        match = next((p for p in unclaimed if same_config(p.config, row["config"])), None)
        if match is not None:
            unclaimed.remove(match)
        row["proposed_by"] = match.label if match is not None else SEARCHER


def same_config(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """The same keys with the same values (numbers within float round-off: 3 == 3.0)."""
    return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)


def _same(a: Any, b: Any) -> bool:
    if _number(a) and _number(b):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    return a == b


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _in_dimension(value: Any, dim: ParamSpec) -> Any | None:
    """``value`` as the dimension's type when the dimension holds it unchanged; else None."""
    try:
        clipped = dim.clip(value)
    except ValueError:
        return None
    if not _same(clipped, value):
        return None
    if dim.categorical:
        return value
    return int(clipped) if dim.type == "randint" else float(value)


def _described(dim: ParamSpec) -> str:
    if dim.categorical:
        return f"the {dim.type} values {dim.values}"
    if dim.type == "randint":
        return f"randint [{dim.low:g}, {dim.high:g}) (high excluded)"
    step = f" in steps of {dim.q:g}" if dim.type == "quniform" else ""
    return f"{dim.type} [{dim.low:g}, {dim.high:g}]{step}"


def _parent_label(row: dict[str, Any]) -> str:
    return f"{row['source']} trial {row['trial']}"
