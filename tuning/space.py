"""Search spaces: our typed dimensions → Ray Tune domains, and configs → training jobs."""

from __future__ import annotations

import copy
import logging
from typing import Any

from ray_apps.spec import TrainJobSpec, parse_spec
from tuning.spec import ParamSpec

log = logging.getLogger("raymaker.tuning")


def tune_domain(p: ParamSpec):
    """The Ray Tune sampling domain for one dimension."""
    from ray import tune

    if p.type == "uniform":
        return tune.uniform(p.low, p.high)
    if p.type == "loguniform":
        return tune.loguniform(p.low, p.high)
    if p.type == "quniform":
        return tune.quniform(p.low, p.high, p.q)
    if p.type == "randint":
        return tune.randint(int(p.low), int(p.high))
    if p.type == "choice":
        return tune.choice(p.values)
    return tune.grid_search(p.values)


def param_space(space: dict[str, ParamSpec]) -> dict[str, Any]:
    """A flat Tune param space keyed by the dotted paths (Tune keeps the keys as given)."""
    return {path: tune_domain(p) for path, p in space.items()}


def grid_size(space: dict[str, ParamSpec]) -> int:
    size = 1
    for p in space.values():
        size *= len(p.values) if p.type == "grid" else 1
    return size


def apply(base: TrainJobSpec, config: dict[str, Any]) -> TrainJobSpec:
    """The training job with the trial's values set at their dotted paths, validated."""
    data = base.model_dump(mode="json")
    for path, value in config.items():
        node = data
        *parents, leaf = path.split(".")
        for key in parents:
            node = node.setdefault(key, {})
        node[leaf] = value.item() if hasattr(value, "item") else value
    return parse_spec(TrainJobSpec, data, source="trial config")


def fit_to_space(
    config: dict[str, Any], space: dict[str, ParamSpec], origin: str
) -> dict[str, Any] | None:
    """Clip a parent's configuration into ``space``; None (with the reason logged) if it can't.

    Keys the new space lacks are dropped; keys it adds are left for the searcher to sample,
    except that a searcher's seed point must name every key, so those configs are dropped.
    """
    out: dict[str, Any] = {}
    for path, dim in space.items():
        if path not in config:
            log.warning("warm start: dropped %s: it has no value for %s", origin, path)
            return None
        try:
            value = dim.clip(copy.deepcopy(config[path]))
        except ValueError as err:
            log.warning("warm start: dropped %s: %s: %s", origin, path, err)
            return None
        if value != config[path]:
            log.warning(
                "warm start: %s: clipped %s from %r to %r", origin, path, config[path], value
            )
        out[path] = value
    return out
