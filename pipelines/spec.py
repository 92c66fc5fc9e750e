"""The pipeline spec: a DAG of raymaker jobs, as YAML or the same dict from Python.

    name: retrain                              # ^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$
    description: retrain, gate on AUC, register
    parameters:                                # NAME: {type, default, description}
      data: {type: str, default: "sklearn:breast_cancer"}
      min_auc: {type: float, default: 0.9}     # no default: required (--param min_auc=0.9)
    steps:                                     # NAME (^[A-Za-z][A-Za-z0-9_]{0,63}$): step
      train:
        kind: train                            # a kind of pipelines.kinds.KINDS
        with:                                  # the kind's inputs; strings may hold references
          config: examples/train_xgboost.yaml
          overrides: {dataset: {source: "${parameters.data}"}}
        retry: {attempts: 3, interval_s: 10, backoff: 2}   # 3 tries, 10 s then 20 s apart
        timeout_s: 3600
        cache: {enabled: true, expire_after: 7d}           # 90s | 30m | 12h | 7d
      register:
        kind: register
        if: "${steps.gate.outputs.passed}"     # one boolean reference; "not ${...}" negates
        after: [approve_data]                  # steps that finish first with no reference
        with: {artifact: "${steps.train.outputs.artifact}", model: cancer}

Steps keep their written order: it breaks ties in the run order. Unknown keys are rejected and
each error names the file, the step and the field. This module checks the shape; what the
names mean (kinds, inputs, references between steps, cycles) is ``pipelines.graph.validate``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import ConfigDict, Field, ValidationInfo, field_validator, model_validator

from pipelines.refs import Guard, find_refs, parse_guard
from ray_apps.errors import SpecError
from ray_apps.spec import _Strict, load_yaml, parse_spec

# Step and parameter names appear inside ${...}, between dots: no dots or dashes in them.
STEP_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}")
_DURATION = re.compile(r"(\d+)([smhd])")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_EXAMPLE = {"str": "text", "int": "3", "float": "0.5", "bool": "true"}
_TRUE, _FALSE = {"true", "yes", "on", "1"}, {"false", "no", "off", "0"}

ParamType = Literal["str", "int", "float", "bool"]


class ParameterSpec(_Strict):
    """A value the pipeline is run with (``--param NAME=VALUE``); no default: required."""

    type: ParamType
    default: Any = Field(None, description="of the declared type; none: the run must give it")
    description: str = ""

    @field_validator("default")
    @classmethod
    def _of_its_type(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None or "type" not in info.data:
            return value
        return _typed(info.data["type"], value)


class RetrySpec(_Strict):
    """How often a failed step is tried, and how long to wait between tries."""

    attempts: int = Field(1, ge=1, description="tries in all, the first included")
    interval_s: float = Field(1.0, ge=0, description="before the first retry")
    backoff: float = Field(2.0, ge=1, description="each later wait is this times the last")

    def delay_s(self, attempt: int) -> float:
        """Seconds to wait before retry ``attempt`` (1 = the first retry)."""
        if attempt < 1:
            raise ValueError(f"attempt {attempt} counts retries from 1")
        return self.interval_s * self.backoff ** (attempt - 1)


class CacheSpec(_Strict):
    """Reuse a previous run of the same step with the same resolved inputs."""

    enabled: bool = False
    expire_after: str | None = Field(None, description="90s | 30m | 12h | 7d; none: never")

    @field_validator("expire_after")
    @classmethod
    def _duration(cls, value: str | None) -> str | None:
        if value is not None:
            _duration_s(value)
        return value

    @model_validator(mode="after")
    def _enabled_to_expire(self) -> CacheSpec:
        if self.expire_after is not None and not self.enabled:
            raise ValueError(
                f"cache.expire_after {self.expire_after!r} applies to a cache that is on, but "
                "cache.enabled is false; set enabled: true or drop expire_after"
            )
        return self

    @property
    def expire_after_s(self) -> float | None:
        """How long a cached result stays valid, in seconds; None: forever."""
        return None if self.expire_after is None else _duration_s(self.expire_after)


class StepSpec(_Strict):
    """One job of the pipeline: its kind, inputs and when it runs."""

    # `with` and `if` are Python keywords: the fields carry a trailing _ and YAML's names as
    # aliases; Python callers may use either.
    model_config = ConfigDict(validate_by_name=True, validate_by_alias=True)

    kind: str = Field(description="a step kind: pipelines.kinds.KINDS")
    with_: dict[str, Any] = Field(default_factory=dict, alias="with")
    if_: str | None = Field(None, alias="if", description='"${...}" or "not ${...}", a bool')
    after: list[str] = Field(default_factory=list, description="run after these steps")
    retry: RetrySpec = RetrySpec()
    timeout_s: float | None = Field(None, gt=0)
    cache: CacheSpec = CacheSpec()

    @field_validator("with_")
    @classmethod
    def _references_parse(cls, value: dict[str, Any]) -> dict[str, Any]:
        for name, item in value.items():
            try:
                find_refs(item)
            except SpecError as err:
                raise ValueError(f"input {name}: {err}") from None
        return value

    @field_validator("if_")
    @classmethod
    def _one_boolean_reference(cls, value: str | None) -> str | None:
        if value is not None:
            parse_guard(value)
        return value

    @property
    def guard(self) -> Guard | None:
        """The parsed ``if:``, or None when the step always runs."""
        return None if self.if_ is None else parse_guard(self.if_)


class PipelineSpec(_Strict):
    """A named DAG of steps, and the parameters it is run with."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
    description: str = ""
    parameters: dict[str, ParameterSpec] = Field(default_factory=dict)
    steps: dict[str, StepSpec] = Field(description="in written order: ties run in this order")

    @field_validator("parameters", "steps")
    @classmethod
    def _names_fit_references(cls, value: dict[str, Any], info: ValidationInfo) -> dict:
        what = info.field_name.rstrip("s")
        if info.field_name == "steps" and not value:
            raise ValueError(
                "a pipeline needs at least one step; e.g. steps: "
                "{train: {kind: train, with: {config: examples/train_xgboost.yaml}}}"
            )
        for name in value:
            if not STEP_NAME.fullmatch(name):
                raise ValueError(
                    f"{what} name {name!r} must start with a letter and hold only letters, "
                    f"digits and _ (at most 64): it is written in ${{{info.field_name}.NAME}} "
                    "references"
                )
        return value


def load_pipeline(source: PipelineSpec | str | Path | Mapping[str, Any]) -> PipelineSpec:
    """A validated pipeline from a YAML path, a mapping or a spec; SpecError names the file
    (or pipeline), the step and the field."""
    if isinstance(source, PipelineSpec):
        return source
    if isinstance(source, (str, Path)):
        return parse_spec(PipelineSpec, load_yaml(source), source=str(source))
    name = source.get("name")
    return parse_spec(
        PipelineSpec, dict(source), source=f"pipeline {name!r}" if name else "pipeline"
    )


def bind_parameters(spec: PipelineSpec, given: Mapping[str, Any]) -> dict[str, Any]:
    """Every declared parameter's value: ``given`` (strings from ``--param k=v`` coerced to the
    declared type) over the defaults. SpecError on unknown, missing or mistyped ones."""
    declared = _declared(spec)
    unknown = [name for name in given if name not in spec.parameters]
    if unknown:
        raise SpecError(
            f"unknown parameter {unknown[0]!r}; pipeline {spec.name} declares {declared}"
        )
    bound: dict[str, Any] = {}
    for name, param in spec.parameters.items():
        if name not in given:
            bound[name] = param.default
            continue
        value = given[name]
        try:
            bound[name] = _typed(param.type, value, from_text=isinstance(value, str))
        except ValueError as err:
            raise SpecError(
                f"parameter {name!r}: {err}; pass e.g. --param {name}={_EXAMPLE[param.type]}"
            ) from None
    missing = [name for name, value in bound.items() if value is None]
    if missing:
        raise SpecError(
            f"parameter {missing[0]!r} has no default and was not given; pass --param "
            f"{missing[0]}={_EXAMPLE[spec.parameters[missing[0]].type]} "
            f"(pipeline {spec.name} declares {declared})"
        )
    return bound


def _declared(spec: PipelineSpec) -> str:
    if not spec.parameters:
        return "no parameters"
    return ", ".join(
        f"{name} ({p.type}{'' if p.default is None else f', default {p.default!r}'})"
        for name, p in spec.parameters.items()
    )


def _typed(kind: str, value: Any, from_text: bool = False) -> Any:
    """``value`` as a ``kind`` (an int becomes a float where a float is declared); with
    ``from_text`` a string is parsed. ValueError says why it is not one."""
    if from_text and kind != "str":
        return _parse(kind, value.strip())
    if kind == "bool" and isinstance(value, bool):
        return value
    if kind == "int" and isinstance(value, int) and not isinstance(value, bool):
        return value
    if kind == "float" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if kind == "str" and isinstance(value, str):
        return value
    raise ValueError(f"{value!r} is {_a(type(value).__name__)}, not {_a(kind)}")


def _parse(kind: str, text: str) -> Any:
    if kind == "bool" and text.lower() in _TRUE | _FALSE:
        return text.lower() in _TRUE
    try:
        if kind == "int":
            return int(text)
        if kind == "float" and math.isfinite(number := float(text)):
            return number
    except ValueError:
        pass
    raise ValueError(f"{text!r} is not {_a(kind)}")


def _a(noun: str) -> str:
    return f"{'an' if noun[0] in 'aeiou' else 'a'} {noun}"


def _duration_s(text: str) -> float:
    match = _DURATION.fullmatch(text.strip())
    if not match or int(match[1]) == 0:
        raise ValueError(
            f"cache.expire_after {text!r} is not a duration; write a positive whole number "
            "and a unit: 90s, 30m, 12h or 7d (or leave it out: never expires)"
        )
    return float(int(match[1]) * _SECONDS[match[2]])
