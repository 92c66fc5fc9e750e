"""A pipeline's meaning, checked before anything runs: kinds, inputs, references, order.

    graph = validate(load_pipeline("examples/pipeline_retrain.yaml"))
    graph.order                 # ('train', 'evaluate', 'gate', 'register', 'fail')
    graph.upstream["register"]  # frozenset({'train', 'gate'}): from `with`, `if` and `after`
    graph.downstream("train")   # {'evaluate', 'gate', 'register', 'fail'}
    print(describe(graph, spec))

``validate`` reports every problem it finds in one SpecError, each naming the step and the
field and saying how to fix it: an unknown kind or input, a missing required input, a
reference to an unknown step, output or parameter, keys into an output that is not a dict, a
step that references itself, a cycle, and a type mismatch where the types are known before
the run (a whole-string reference or a literal fed to an input of an incompatible type; an
``if:`` on something that is not a bool).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from pipelines.condition import incomparable, parse_condition
from pipelines.kinds import KINDS, StepKind
from pipelines.refs import Ref, find_refs, whole_ref
from pipelines.spec import PipelineSpec, StepSpec
from ray_apps.errors import SpecError

# What a declared type compares as in a condition (pipelines.condition.value_class).
_CLASS = {"int": "number", "float": "number", "str": "str", "path": "str", "bool": "bool"}


@dataclass(frozen=True)
class Graph:
    """The run order and the dependencies of a validated pipeline."""

    order: tuple[str, ...]
    upstream: Mapping[str, frozenset[str]]

    def downstream(self, step: str) -> set[str]:
        """Every step that depends on ``step``, directly or through others."""
        if step not in self.upstream:
            raise SpecError(f"no step {step!r}; the steps are {', '.join(self.order)}")
        found: set[str] = set()
        for name in self.order:  # topological: a step's upstream is decided before it
            if self.upstream[name] & (found | {step}):
                found.add(name)
        return found


def validate(spec: PipelineSpec) -> Graph:
    """The graph of ``spec``; SpecError listing every problem, each with its step and field."""
    errors: list[str] = []
    upstream: dict[str, dict[str, str]] = {}  # step → upstream step → the field that asks
    for name, step in spec.steps.items():
        check = _StepCheck(spec, name, step)
        upstream[name] = check.run()
        errors += check.errors
    if not errors:
        order, cycle = _toposort(spec, upstream)
        if cycle:
            errors.append(cycle)
    if errors:
        raise SpecError(f"pipeline {spec.name}: " + "; ".join(errors))
    frozen = {name: frozenset(deps) for name, deps in upstream.items()}
    return Graph(order=order, upstream=MappingProxyType(frozen))


class _StepCheck:
    """The checks of one step; ``run`` returns its upstream steps, ``errors`` what is wrong."""

    def __init__(self, spec: PipelineSpec, name: str, step: StepSpec):
        self.spec, self.name, self.step = spec, name, step
        self.errors: list[str] = []
        self.upstream: dict[str, str] = {}

    def fail(self, field: str, message: str) -> None:
        self.errors.append(f"step {self.name!r} {field}: {message}")

    def run(self) -> dict[str, str]:
        kind = KINDS.get(self.step.kind)
        if kind is None:
            self.fail("kind", f"unknown kind {self.step.kind!r}; use one of {', '.join(KINDS)}")
        else:
            self._inputs(kind)
        for name, value in self.step.with_.items():
            for ref in find_refs(value):
                self._reference(f"with.{name}", ref)
        self._guard()
        for i, other in enumerate(self.step.after):
            self._depends(f"after[{i}]", other)
        return self.upstream

    def _inputs(self, kind: StepKind) -> None:
        given = self.step.with_
        for name, value in given.items():
            if name not in kind.inputs:
                inputs = ", ".join(kind.inputs) or "none"
                self.fail(
                    f"with.{name}", f"kind {kind.name} has no input {name!r}; its inputs: {inputs}"
                )
                continue
            have = self._static_type(value)
            want = kind.inputs[name]
            if have and not _compatible(have, want):
                self.fail(
                    f"with.{name}",
                    f"{_show(value)} has type {have}, but input {name} of kind {kind.name} "
                    f"takes {want}; pass a value of type {want}",
                )
        for name in sorted(kind.required - set(given)):
            self.fail(
                f"with.{name}",
                f"kind {kind.name} requires input {name!r} ({kind.inputs[name]}); "
                "add it under with:",
            )
        if kind.exactly_one and len(kind.exactly_one & set(given)) != 1:
            one = " or ".join(sorted(kind.exactly_one))
            self.fail("with", f"kind {kind.name} takes exactly one of {one}; give one of them")
        elif kind.name == "condition" and not self.errors:
            self._condition()

    def _condition(self) -> None:
        if any(whole_ref(value) for value in self.step.with_.values()):
            return  # the comparisons themselves arrive at run time
        try:
            mode, clauses = parse_condition(self.step.with_)
        except SpecError as err:
            self.fail("with", str(err))
            return
        for i, clause in enumerate(clauses):
            left, right = self._static_type(clause.left), self._static_type(clause.right)
            if left in (None, "any") or right in (None, "any"):
                continue
            why = incomparable(_CLASS.get(left, left), clause.op, _CLASS.get(right, right))
            if why:
                self.fail(
                    f"with.{mode}[{i}]",
                    f"{_show(clause.left)} {clause.op} {_show(clause.right)} {why}",
                )

    def _guard(self) -> None:
        guard = self.step.guard
        if guard is None:
            return
        self._reference("if", guard.ref)
        have = self._ref_type(guard.ref)
        if have not in (None, "any", "bool"):
            self.fail(
                "if",
                f"{guard.ref.text} has type {have}, not bool; reference a boolean such as a "
                "condition step's ${steps.NAME.outputs.passed}",
            )

    def _reference(self, field: str, ref: Ref) -> None:
        if ref.kind == "parameters":
            if ref.name not in self.spec.parameters:
                declared = ", ".join(self.spec.parameters) or "none"
                self.fail(
                    field,
                    f"{ref.text} names no declared parameter; declare it under parameters "
                    f"(declared: {declared})",
                )
            return
        if not self._depends(field, ref.name, ref.text):
            return
        kind = KINDS.get(self.spec.steps[ref.name].kind)
        if kind is None:
            return  # reported at that step
        if ref.output not in kind.outputs:
            outputs = ", ".join(kind.outputs) or "none"
            self.fail(
                field,
                f"{ref.text}: step {ref.name!r} (kind {kind.name}) has no output "
                f"{ref.output!r}; its outputs: {outputs}",
            )
        elif ref.keys and kind.outputs[ref.output] not in ("dict", "any"):
            self.fail(
                field,
                f"{ref.text}: output {ref.output} of kind {kind.name} has type "
                f"{kind.outputs[ref.output]}, not dict; drop .{'.'.join(ref.keys)}",
            )

    def _depends(self, field: str, other: str, text: str | None = None) -> bool:
        if other == self.name:
            what = text or repr(other)
            self.fail(field, f"{what} refers to the step itself; a step cannot use its own outputs")
            return False
        if other not in self.spec.steps:
            steps = ", ".join(self.spec.steps)
            self.fail(field, f"{text + ': ' if text else ''}no step {other!r}; the steps: {steps}")
            return False
        self.upstream.setdefault(other, field)
        return True

    def _static_type(self, value: Any) -> str | None:
        """The type name ``value`` will have at run time, or None when unknowable."""
        ref = whole_ref(value)
        if ref is not None:
            return self._ref_type(ref)
        return _literal_type(value)

    def _ref_type(self, ref: Ref) -> str | None:
        if ref.kind == "parameters":
            param = self.spec.parameters.get(ref.name)
            return param.type if param else None
        step = self.spec.steps.get(ref.name)
        kind = KINDS.get(step.kind) if step else None
        if kind is None or ref.keys:  # keys into a dict: its values' types are not declared
            return None
        return kind.outputs.get(ref.output)


def _literal_type(value: Any) -> str | None:
    if isinstance(value, bool):
        return "bool"
    for python, name in (
        (int, "int"),
        (float, "float"),
        (str, "str"),
        (dict, "dict"),
        (list, "list"),
    ):
        if isinstance(value, python):
            return name
    return None  # null: the input is left unset


def _compatible(have: str, want: str) -> bool:
    if "any" in (have, want):
        return True
    if (have, want) == ("int", "float"):
        return True
    same = {"path": "str"}
    return same.get(have, have) == same.get(want, want)


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _toposort(
    spec: PipelineSpec, upstream: Mapping[str, Mapping[str, str]]
) -> tuple[tuple[str, ...], str | None]:
    """A run order (ties in written order), or the message naming a cycle."""
    order: list[str] = []
    left = list(spec.steps)
    while left:
        ready = next((n for n in left if set(upstream[n]) <= set(order)), None)
        if ready is None:
            return (), _cycle(left, upstream)
        order.append(ready)
        left.remove(ready)
    return tuple(order), None


def _cycle(left: list[str], upstream: Mapping[str, Mapping[str, str]]) -> str:
    # Every step left waits on another step left: walking upstream must come back round.
    path = [left[0]]
    while True:
        nxt = next(n for n in left if n in upstream[path[-1]])
        if nxt in path:
            loop = path[path.index(nxt) :] + [nxt]
            break
        path.append(nxt)
    loop.reverse()  # upstream first: a → b means b uses a
    head, tail = loop[-2], loop[-1]
    return (
        f"step {tail!r} {upstream[tail][head]}: the steps form a cycle "
        f"{' → '.join(loop)}; remove one of these references (or after: entries)"
    )


def describe(graph: Graph, spec: PipelineSpec) -> str:
    """One line per step in run order: its kind, what it waits for and its ``if:``."""
    width = max(map(len, graph.order))
    lines = [f"pipeline {spec.name}: {len(graph.order)} steps"]
    for i, name in enumerate(graph.order, 1):
        step = spec.steps[name]
        deps = [n for n in graph.order if n in graph.upstream[name]]
        line = f"{i:>3}. {name:<{width}}  {step.kind:<17}"
        line += f"  after {', '.join(deps)}" if deps else "  (no upstream)"
        if step.if_:
            line += f"  if {step.if_}"
        lines.append(line.rstrip())
    return "\n".join(lines)
