"""The pipeline spec's shape: fields, defaults, errors that name the file, step and field."""

from __future__ import annotations

import pytest

from pipelines import PipelineSpec, StepSpec, bind_parameters, load_pipeline
from pipelines.spec import CacheSpec, RetrySpec
from ray_apps.errors import SpecError


def _pipeline(**fields):
    base = {"name": "p", "steps": {"train": {"kind": "train", "with": {"config": "t.yaml"}}}}
    return load_pipeline({**base, **fields})


def _step(**fields) -> dict:
    return {"name": "p", "steps": {"s": {"kind": "train", **fields}}}


def test_the_yaml_keys_with_and_if_reach_their_fields(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text(
        "name: p\n"
        "steps:\n"
        "  gate: {kind: condition, with: {all: [{left: 1, op: '<', right: 2}]}}\n"
        "  train:\n"
        "    kind: train\n"
        "    if: not ${steps.gate.outputs.passed}\n"
        "    after: [gate]\n"
        "    with: {config: t.yaml}\n"
    )
    spec = load_pipeline(path)
    step = spec.steps["train"]
    assert step.with_ == {"config": "t.yaml"} and step.after == ["gate"]
    assert step.guard.negated and step.guard.ref.name == "gate"
    assert list(spec.steps) == ["gate", "train"]  # written order kept


def test_python_callers_may_use_the_field_names():
    step = StepSpec(kind="train", with_={"config": "t.yaml"}, if_="${parameters.go}")
    assert step.with_ == {"config": "t.yaml"} and step.guard.ref.name == "go"
    assert step.model_dump(by_alias=True)["with"] == {"config": "t.yaml"}


def test_defaults():
    step = _pipeline().steps["train"]
    assert step.after == [] and step.if_ is None and step.guard is None
    assert step.timeout_s is None and step.retry == RetrySpec() and step.cache == CacheSpec()
    assert (step.retry.attempts, step.cache.enabled, step.cache.expire_after_s) == (1, False, None)


def test_retry_delays_grow_by_the_backoff():
    retry = RetrySpec(attempts=4, interval_s=10, backoff=3)
    assert [retry.delay_s(a) for a in (1, 2, 3)] == [10, 30, 90]
    assert RetrySpec().delay_s(1) == 1.0


@pytest.mark.parametrize(
    ("text", "seconds"), [("90s", 90), ("30m", 1800), ("12h", 43200), ("7d", 604800)]
)
def test_cache_durations(text, seconds):
    assert CacheSpec(enabled=True, expire_after=text).expire_after_s == seconds


@pytest.mark.parametrize("text", ["5x", "1.5h", "0s", "h", "-3m", "30 minutes"])
def test_a_bad_duration_names_the_step_field_and_the_forms(text):
    with pytest.raises(SpecError) as err:
        load_pipeline(_step(with_={}, cache={"enabled": True, "expire_after": text}))
    message = str(err.value)
    assert "steps.s.cache.expire_after" in message and repr(text) in message
    assert "90s, 30m, 12h or 7d" in message


def test_expire_after_needs_the_cache_on():
    with pytest.raises(SpecError) as err:
        load_pipeline(_step(cache={"expire_after": "1h"}))
    assert "steps.s.cache" in str(err.value)
    assert "set enabled: true or drop expire_after" in str(err.value)


@pytest.mark.parametrize(
    ("fields", "fragments"),
    [
        ({"retries": 3}, ["steps.s.retries", "unknown field"]),
        ({"retry": {"attempts": 0}}, ["steps.s.retry.attempts", "greater than or equal to 1"]),
        ({"retry": {"backoff": 0.5}}, ["steps.s.retry.backoff"]),
        ({"timeout_s": 0}, ["steps.s.timeout_s", "greater than 0"]),
        ({"if": "${steps.a.outputs.x} and ${steps.b.outputs.y}"}, ["steps.s.if", "exactly one"]),
        ({"if": "steps.gate.outputs.passed"}, ["steps.s.if", "exactly one reference"]),
        ({"with": {"config": "${nope.x}"}}, ["steps.s.with", "input config", "unknown root"]),
        ({"with": {"o": {"a": ["${steps.x"]}}}, ["steps.s.with", "input o", "never closed"]),
    ],
)
def test_step_errors_name_the_step_and_the_field(fields, fragments):
    with pytest.raises(SpecError) as err:
        load_pipeline(_step(**fields))
    for fragment in fragments:
        assert fragment in str(err.value)


@pytest.mark.parametrize(
    ("fields", "fragments"),
    [
        ({"steps": {}}, ["steps", "at least one step"]),
        ({"steps": {"bad-name": {"kind": "train"}}}, ["'bad-name'", "start with a letter"]),
        ({"steps": {"9lives": {"kind": "train"}}}, ["'9lives'"]),
        ({"parameters": {"a.b": {"type": "str"}}}, ["parameter name 'a.b'"]),
        ({"name": "-x"}, ["name", "should match pattern"]),
        ({"parameters": {"n": {"type": "decimal"}}}, ["parameters.n.type", "'str', 'int'"]),
        ({"parameters": {"n": {"type": "int", "default": 0.5}}}, ["parameters.n.default"]),
        ({"parameters": {"n": {"type": "int", "default": True}}}, ["is a bool, not an int"]),
        ({"parameters": {"n": {"type": "str", "default": 3}}}, ["is an int, not a str"]),
        ({"extra": 1}, ["extra: unknown field"]),
    ],
)
def test_pipeline_errors_name_the_field(fields, fragments):
    with pytest.raises(SpecError) as err:
        _pipeline(**fields)
    for fragment in fragments:
        assert fragment in str(err.value)


def test_an_error_in_a_file_names_the_file(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("name: p\nsteps:\n  train: {kind: train, with: {}, timeout_s: -1}\n")
    with pytest.raises(SpecError, match=r"bad\.yaml: steps\.train\.timeout_s"):
        load_pipeline(path)
    with pytest.raises(SpecError, match="does not exist"):
        load_pipeline(tmp_path / "absent.yaml")


def test_a_mapping_error_names_the_pipeline():
    with pytest.raises(SpecError, match=r"^pipeline 'p': steps\.train\.kind: required"):
        load_pipeline({"name": "p", "steps": {"train": {}}})


def test_a_float_default_may_be_written_as_an_int():
    spec = _pipeline(parameters={"x": {"type": "float", "default": 1}})
    assert isinstance(spec.parameters["x"].default, float)
    assert load_pipeline(spec) is spec


# ---- bind_parameters -------------------------------------------------------------------------

PARAMS = {
    "data": {"type": "str", "default": "sklearn:breast_cancer"},
    "min_auc": {"type": "float", "default": 0.9},
    "rounds": {"type": "int"},
    "force": {"type": "bool", "default": False},
}


def test_defaults_fill_in_and_strings_are_coerced():
    spec = _pipeline(parameters=PARAMS)
    given = {"min_auc": "0.5", "rounds": "40", "force": "yes"}
    assert bind_parameters(spec, given) == {
        "data": "sklearn:breast_cancer",
        "min_auc": 0.5,
        "rounds": 40,
        "force": True,
    }
    typed = bind_parameters(spec, {"rounds": 3, "min_auc": 1, "data": "0.5"})
    assert typed["min_auc"] == 1.0 and isinstance(typed["min_auc"], float)
    assert typed["data"] == "0.5"  # a str parameter keeps its text


@pytest.mark.parametrize(
    ("given", "fragments"),
    [
        ({"rounds": 1, "min_auc": "abc"}, ["parameter 'min_auc'", "'abc' is not a float"]),
        ({"rounds": 1, "min_auc": "nan"}, ["'nan' is not a float"]),
        ({"rounds": "4.5"}, ["'4.5' is not an int", "--param rounds=3"]),
        ({"rounds": 1, "force": "maybe"}, ["'maybe' is not a bool"]),
        ({"rounds": 1.0}, ["parameter 'rounds'", "is a float, not an int"]),
        ({"rounds": True}, ["is a bool, not an int"]),
        ({"rounds": 1, "data": 3}, ["is an int, not a str"]),
        ({}, ["parameter 'rounds' has no default", "--param rounds=", "min_auc (float"]),
        ({"rounds": 1, "min_aux": "0.5"}, ["unknown parameter 'min_aux'", "data (str, default"]),
    ],
)
def test_binding_rejects_what_does_not_fit(given, fragments):
    with pytest.raises(SpecError) as err:
        bind_parameters(_pipeline(parameters=PARAMS), given)
    for fragment in fragments:
        assert fragment in str(err.value)


def test_a_pipeline_without_parameters_says_so():
    with pytest.raises(SpecError, match="declares no parameters"):
        bind_parameters(_pipeline(), {"x": "1"})
    assert bind_parameters(_pipeline(), {}) == {}


def test_a_spec_is_frozen():
    spec = _pipeline()
    with pytest.raises(ValueError):
        spec.name = "q"
    assert isinstance(spec, PipelineSpec)
