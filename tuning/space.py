"""Search spaces: our typed dimensions → Ray Tune domains, and configs → training jobs."""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable
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


def lookup(data: dict[str, Any], path: str) -> Any | None:
    """The value at dotted ``path`` in nested ``data``; None where it is unset."""
    node: Any = data
    for key in path.split("."):
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node


def fit_to_space(
    config: dict[str, Any],
    space: dict[str, ParamSpec],
    origin: str,
    fallback: Callable[[str], tuple[Any, str] | None] | None = None,
) -> dict[str, Any] | None:
    """Clip a parent's configuration into ``space``; None (with the reason logged) if it can't.

    Keys the new space lacks are dropped. A searcher's seed point must name every key, so a key
    the new space adds takes ``fallback(path)``: ``(value, where it came from)`` — the value the
    parent trial trained with — or the config is dropped when there is none.
    """
    out: dict[str, Any] = {}
    for path, dim in space.items():
        value = config.get(path)
        if path not in config:
            found = fallback(path) if fallback is not None else None
            if found is None:
                log.warning(
                    "warm start: dropped %s: it has no value for %s, and neither its training "
                    "job nor the learner's defaults set one",
                    origin,
                    path,
                )
                return None
            value, source = found
            log.warning(
                "warm start: %s: %s was not searched; it trained with %r (%s)",
                origin,
                path,
                value,
                source,
            )
        try:
            clipped = dim.clip(copy.deepcopy(value))
        except ValueError as err:
            log.warning("warm start: dropped %s: %s: %s", origin, path, err)
            return None
        if clipped != value:
            log.warning("warm start: %s: clipped %s from %r to %r", origin, path, value, clipped)
        out[path] = clipped
    return out
