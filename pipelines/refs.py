"""References inside a step's inputs: how one step's outputs (and the pipeline's parameters)
reach another step.

    with:
      artifact: ${steps.train.outputs.artifact}                  # the output itself, typed
      threshold: ${steps.evaluate.outputs.metrics.roc_auc}       # a key inside a dict output
      data: ${parameters.data}                                   # a pipeline parameter
      note: "trained as ${steps.train.outputs.run_name}"         # formatted into a string
      shell: "echo $${HOME}"                                     # $${ is a literal ${

A string that is exactly one reference becomes the referenced value with its own type (a float
stays a float, a dict stays a dict); a reference inside a longer string is formatted into it
with ``str()``. ``find_refs`` lists the references (the graph is drawn from them) and
``resolve`` replaces them once the outputs exist. A malformed ``${...}`` or a reference to
something absent is a SpecError that names the reference and what exists there.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from ray_apps.errors import SpecError

FORMS = "${parameters.NAME} or ${steps.STEP.outputs.OUTPUT[.KEY...]}"
# Names and dict keys as they can be written between dots; step and parameter names are held
# to their stricter patterns by the spec, so an unknown one is reported as unknown, not bad.
_SEGMENT = re.compile(r"[A-Za-z0-9_-]+")


@dataclass(frozen=True)
class Ref:
    """One ``${...}``: ``kind`` parameters (``name``) or steps (``name``, ``output``, ``keys``)."""

    kind: Literal["parameters", "steps"]
    name: str
    output: str | None = None
    keys: tuple[str, ...] = ()
    text: str = ""  # as written, "${...}": what error messages quote


def parse_ref(text: str) -> Ref:
    """The reference ``text`` (``"${...}"`` exactly); SpecError names a malformed one."""
    body = text.removeprefix("${").removesuffix("}")
    parts = body.split(".")
    root = parts[0]
    bad = next((p for p in parts if not _SEGMENT.fullmatch(p)), None)
    if not body:
        problem = "it is empty"
    elif root not in ("parameters", "steps"):
        problem = f"unknown root {root!r} (parameters or steps)"
    elif bad is not None:
        problem = f"{'an empty' if bad == '' else 'a bad'} name {bad!r} (letters, digits, _ or -)"
    elif root == "parameters" and len(parts) != 2:
        problem = "a parameter reference is ${parameters.NAME}, with no keys after the name"
    elif root == "steps" and (len(parts) < 4 or parts[2] != "outputs"):
        problem = "a step reference is ${steps.STEP.outputs.OUTPUT}, optionally with .KEYs"
    else:
        if root == "parameters":
            return Ref("parameters", parts[1], text=text)
        return Ref("steps", parts[1], parts[3], tuple(parts[4:]), text=text)
    raise SpecError(f"malformed reference {text!r}: {problem}; write {FORMS}")


def _pieces(text: str) -> list[str | Ref]:
    """``text`` split into literal strings and references, with ``$${`` undone to ``${``."""
    pieces: list[str | Ref] = []
    literal, i = "", 0
    while (j := text.find("$", i)) != -1:
        if text.startswith("$${", j):
            literal, i = literal + text[i:j] + "${", j + 3
        elif not text.startswith("${", j):
            literal, i = literal + text[i : j + 1], j + 1
        else:
            end = text.find("}", j)
            if end == -1:
                raise SpecError(
                    f"malformed reference in {text!r}: '${{' at position {j} is never closed "
                    f"by '}}'; write {FORMS} (or $${{ for a literal ${{)"
                )
            if literal + text[i:j]:
                pieces.append(literal + text[i:j])
            pieces.append(parse_ref(text[j : end + 1]))
            literal, i = "", end + 1
    if literal + text[i:]:
        pieces.append(literal + text[i:])
    return pieces


def whole_ref(value: Any) -> Ref | None:
    """The reference when ``value`` is a string that is exactly one reference, else None."""
    if not isinstance(value, str):
        return None
    pieces = _pieces(value)
    return pieces[0] if len(pieces) == 1 and isinstance(pieces[0], Ref) else None


def find_refs(value: Any) -> list[Ref]:
    """Every reference in ``value``, walking nested dicts (their values), lists and strings."""
    if isinstance(value, str):
        return [p for p in _pieces(value) if isinstance(p, Ref)]
    if isinstance(value, Mapping):
        return [ref for item in value.values() for ref in find_refs(item)]
    if isinstance(value, (list, tuple)):
        return [ref for item in value for ref in find_refs(item)]
    return []


def resolve(
    value: Any, parameters: Mapping[str, Any], outputs: Mapping[str, Mapping[str, Any]]
) -> Any:
    """A copy of ``value`` with every reference replaced by what it names in ``parameters``
    and ``outputs`` (step name → output name → value)."""
    if isinstance(value, str):
        pieces = _pieces(value)
        if len(pieces) == 1 and isinstance(pieces[0], Ref):
            # A copy: a step that changes a dict it was given must not change another's input.
            return copy.deepcopy(lookup(pieces[0], parameters, outputs))
        return "".join(
            p if isinstance(p, str) else str(lookup(p, parameters, outputs)) for p in pieces
        )
    if isinstance(value, Mapping):
        return {k: resolve(v, parameters, outputs) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [resolve(v, parameters, outputs) for v in value]
    return value


def lookup(ref: Ref, parameters: Mapping[str, Any], outputs: Mapping[str, Mapping[str, Any]]):
    """The value ``ref`` names; SpecError names the reference and what exists there."""
    if ref.kind == "parameters":
        if ref.name not in parameters:
            raise SpecError(
                f"{ref.text}: no parameter {ref.name!r}; the parameters are {_names(parameters)}"
            )
        return parameters[ref.name]
    if ref.name not in outputs:
        raise SpecError(
            f"{ref.text}: step {ref.name!r} has no outputs (it has not run, or was skipped); "
            f"the steps with outputs are {_names(outputs)}"
        )
    step = outputs[ref.name]
    if ref.output not in step:
        raise SpecError(
            f"{ref.text}: step {ref.name!r} has no output {ref.output!r}; "
            f"its outputs are {_names(step)}"
        )
    value, path = step[ref.output], f"outputs.{ref.output}"
    for key in ref.keys:
        if not isinstance(value, Mapping):
            raise SpecError(
                f"{ref.text}: {path} is a {type(value).__name__}, not a mapping with key "
                f"{key!r}; drop .{key} from the reference"
            )
        if key not in value:
            raise SpecError(f"{ref.text}: {path} has no key {key!r}; its keys are {_names(value)}")
        value, path = value[key], f"{path}.{key}"
    return value


def _names(names: Iterable[str]) -> str:
    listed = ", ".join(map(str, names))
    return listed or "(none)"


@dataclass(frozen=True)
class Guard:
    """A step's ``if:``: one reference to a boolean, negated by a leading ``not ``."""

    ref: Ref
    negated: bool = False

    def holds(
        self, parameters: Mapping[str, Any], outputs: Mapping[str, Mapping[str, Any]]
    ) -> bool:
        """Whether the step runs, given the parameters and the outputs so far."""
        value = lookup(self.ref, parameters, outputs)
        if not isinstance(value, bool):
            raise SpecError(
                f"if: {self.ref.text} is {value!r}, not true or false; reference a boolean, "
                "such as a condition step's ${steps.NAME.outputs.passed}"
            )
        return value != self.negated


def parse_guard(text: str) -> Guard:
    """The ``if:`` text as a Guard; SpecError unless it is one reference, maybe after ``not ``."""
    negated = text.startswith("not ")
    ref = whole_ref(text.removeprefix("not ").strip())
    if ref is None:
        raise SpecError(
            f"if {text!r} must be exactly one reference to a boolean, optionally after 'not ', "
            'e.g. "${steps.gate.outputs.passed}" or "not ${steps.gate.outputs.passed}"'
        )
    return Guard(ref, negated)
