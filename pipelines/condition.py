"""A ``condition`` step: comparisons of resolved values, no job behind it.

    gate:
      kind: condition
      with:
        all:                              # or any: — exactly one of the two
          - {left: "${steps.evaluate.outputs.metrics.roc_auc}", op: ">=", right: 0.9}
          - {left: "${steps.evaluate.outputs.passed}", op: "==", right: true}

A clause may carry a ``margin`` (a number, with ``<``, ``<=``, ``>``, ``>=``): the left side must
then win by that much in the comparison's direction — ``{left: candidate, op: ">=", right:
serving, margin: 0.005}`` holds when candidate ≥ serving + 0.005 (with ``<=``: candidate ≤
serving − 0.005), the "beats the serving version by a margin" of an approval rule.

Its output ``passed`` feeds other steps' ``if:``. Comparisons are strict about types: a number
compared with a string is an error, not False, because a gate that is silently always closed
(say, ``right: "0.9"`` quoted in YAML) looks exactly like a model that keeps failing.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ray_apps.errors import SpecError

OPS: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_ORDERING = {"<", "<=", ">", ">="}
_KEYS = {"left", "op", "right", "margin"}
MODES = ("all", "any")
_FORM = "{left: ..., op: ..., right: ...[, margin: ...]}"


@dataclass(frozen=True)
class Clause:
    """One comparison ``left op right``."""

    left: Any
    op: str
    right: Any
    margin: Any = None


def parse_condition(inputs: Mapping[str, Any]) -> tuple[str, tuple[Clause, ...]]:
    """``("all" | "any", clauses)`` from a condition step's inputs; SpecError names the bad one.
    Checks the shape only: ``left`` and ``right`` may still be unresolved references."""
    unknown = sorted(set(inputs) - set(MODES))
    if unknown:
        raise SpecError(f"condition inputs {unknown} are unknown; a condition takes all or any")
    given = [mode for mode in MODES if inputs.get(mode) is not None]
    if len(given) != 1:
        got = "both" if given else "neither"
        raise SpecError(
            f"a condition takes exactly one of all (every comparison holds) or any (one holds); "
            f"got {got}: write with: {{all: [{_FORM}]}}"
        )
    mode = given[0]
    items = inputs[mode]
    if not isinstance(items, list) or not items:
        # An empty `all` would hold vacuously: a gate that always opens.
        raise SpecError(f"condition {mode} must be a non-empty list of {_FORM}; got {items!r}")
    return mode, tuple(_clause(item, f"{mode}[{i}]") for i, item in enumerate(items))


def _clause(item: Any, where: str) -> Clause:
    if not isinstance(item, Mapping) or not {"left", "op", "right"} <= set(item) <= _KEYS:
        keys = sorted(item) if isinstance(item, Mapping) else type(item).__name__
        raise SpecError(f"condition {where} must be {_FORM} with exactly those keys; got {keys}")
    if item["op"] not in OPS:
        raise SpecError(
            f"condition {where}.op {item['op']!r} is not a comparison; use one of {', '.join(OPS)}"
        )
    margin = item.get("margin")
    if margin is not None:
        if item["op"] not in _ORDERING:
            raise SpecError(
                f"condition {where}.margin goes with an ordering (<, <=, >, >=), not {item['op']}"
            )
        if not isinstance(margin, str) and value_class(margin) != "number":
            raise SpecError(f"condition {where}.margin {margin!r} must be a number")
    return Clause(item["left"], item["op"], item["right"], margin)


def evaluate_condition(inputs: Mapping[str, Any]) -> bool:
    """Whether all (or any) of the resolved comparisons hold; SpecError on a bad op or on
    values that cannot be compared."""
    mode, clauses = parse_condition(inputs)
    # Every clause is checked, not only up to the first deciding one: a type error in a later
    # comparison is a bug in the pipeline whatever the earlier ones say.
    results = [_holds(clause, f"{mode}[{i}]") for i, clause in enumerate(clauses)]
    return all(results) if mode == "all" else any(results)


def _holds(clause: Clause, where: str) -> bool:
    why = incomparable(value_class(clause.left), clause.op, value_class(clause.right))
    if why:
        raise SpecError(f"condition {where} ({clause.left!r} {clause.op} {clause.right!r}) {why}")
    right = clause.right
    if clause.margin is not None:
        if value_class(clause.margin) != "number" or value_class(right) != "number":
            raise SpecError(
                f"condition {where}.margin {clause.margin!r} needs numbers on both sides and "
                "as the margin"
            )
        # The left side must win by the margin in the comparison's direction.
        right = right + clause.margin if clause.op in (">", ">=") else right - clause.margin
    return bool(OPS[clause.op](clause.left, right))


def value_class(value: Any) -> str:
    """What a value compares as: ``number`` (int or float), ``str``, ``bool`` or its type."""
    if isinstance(value, bool):  # before int: True is an int to Python
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    return "str" if isinstance(value, str) else type(value).__name__


def incomparable(left: str, op: str, right: str) -> str | None:
    """Why values of these classes cannot be compared with ``op``, or None when they can."""
    scalars = ("number", "str", "bool")
    if left not in scalars or right not in scalars:
        return f"compares a {left} with a {right}; compare numbers, strings or booleans"
    if left != right:
        quoted = {left, right} == {"number", "str"}
        hint = " (is a number quoted in YAML?)" if quoted else ""
        return f"compares a {left} with a {right}; compare like with like{hint}"
    if op in _ORDERING and left == "bool":
        return f"orders booleans with {op}; use == or !="
    return None
