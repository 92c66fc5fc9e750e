"""References: found in nested inputs, resolved with their own types, malformed ones named."""

from __future__ import annotations

import pytest

from pipelines.refs import Ref, find_refs, parse_guard, resolve, whole_ref
from ray_apps.errors import SpecError

PARAMS = {"data": "sklearn:breast_cancer", "min_auc": 0.9}
OUTPUTS = {
    "train": {"artifact": "/runs/7/artifact", "run_name": "cancer-xgb-7", "metrics": {"n": 3}},
    "evaluate": {"metrics": {"roc_auc": 0.97, "by_class": {"0": {"f1": 0.9}}}, "passed": True},
}


def test_find_refs_walks_nested_values():
    value = {
        "artifact": "${steps.train.outputs.artifact}",
        "overrides": {"dataset": {"source": "${parameters.data}"}},
        "list": [1, "a ${steps.evaluate.outputs.metrics.roc_auc} b ${parameters.min_auc}"],
        "plain": 3.5,
    }
    assert find_refs(value) == [
        Ref("steps", "train", "artifact", (), "${steps.train.outputs.artifact}"),
        Ref("parameters", "data", text="${parameters.data}"),
        Ref(
            "steps",
            "evaluate",
            "metrics",
            ("roc_auc",),
            "${steps.evaluate.outputs.metrics.roc_auc}",
        ),
        Ref("parameters", "min_auc", text="${parameters.min_auc}"),
    ]


def test_a_whole_reference_keeps_its_type():
    resolved = resolve(
        {
            "auc": "${steps.evaluate.outputs.metrics.roc_auc}",
            "metrics": "${steps.evaluate.outputs.metrics}",
            "passed": "${steps.evaluate.outputs.passed}",
            "nested": ["${steps.evaluate.outputs.metrics.by_class.0.f1}"],
            "number": 3,
        },
        PARAMS,
        OUTPUTS,
    )
    assert resolved["auc"] == 0.97 and isinstance(resolved["auc"], float)
    assert resolved["metrics"] == OUTPUTS["evaluate"]["metrics"]
    assert resolved["passed"] is True and resolved["nested"] == [0.9] and resolved["number"] == 3


def test_a_resolved_value_is_a_copy():
    value = {"m": "${steps.train.outputs.metrics}"}
    resolved = resolve(value, PARAMS, OUTPUTS)
    resolved["m"]["n"] = 99
    assert OUTPUTS["train"]["metrics"] == {"n": 3}
    assert value == {"m": "${steps.train.outputs.metrics}"}


def test_a_reference_inside_a_string_is_formatted():
    text = "run ${steps.train.outputs.run_name} on ${parameters.data} at ${parameters.min_auc}"
    assert resolve(text, PARAMS, OUTPUTS) == "run cancer-xgb-7 on sklearn:breast_cancer at 0.9"
    assert resolve(" ${parameters.min_auc}", PARAMS, OUTPUTS) == " 0.9"


def test_dollar_dollar_brace_is_a_literal():
    assert find_refs("echo $${HOME} costs $5") == []
    assert resolve("echo $${HOME} costs $5", PARAMS, OUTPUTS) == "echo ${HOME} costs $5"
    assert whole_ref("$${parameters.data}") is None


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        ("${parameters.nope}", ["${parameters.nope}", "no parameter 'nope'", "data, min_auc"]),
        ("${steps.deploy.outputs.url}", ["no outputs", "train, evaluate"]),
        ("${steps.train.outputs.model}", ["no output 'model'", "artifact, run_name, metrics"]),
        ("${steps.evaluate.outputs.metrics.f1}", ["no key 'f1'", "roc_auc, by_class"]),
        ("${steps.evaluate.outputs.passed.x}", ["outputs.passed is a bool", "drop .x"]),
        ("x ${steps.evaluate.outputs.metrics.by_class.1}", ["metrics.by_class has no key '1'"]),
    ],
)
def test_what_is_missing_is_named_with_what_exists(text, fragments):
    with pytest.raises(SpecError) as err:
        resolve({"a": [text]}, PARAMS, OUTPUTS)
    for fragment in fragments:
        assert fragment in str(err.value)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("${params.x}", "unknown root 'params'"),
        ("${}", "it is empty"),
        ("${parameters.}", "an empty name ''"),
        ("${steps..outputs.x}", "an empty name ''"),
        ("${parameters.a b}", "a bad name 'a b'"),
        ("${parameters.a.b}", "no keys after the name"),
        ("${steps.train.artifact}", "${steps.STEP.outputs.OUTPUT}"),
        ("${steps.train.outputs}", "${steps.STEP.outputs.OUTPUT}"),
        ("prefix ${steps.train.outputs.x", "never closed"),
    ],
)
def test_a_malformed_reference_is_named(text, fragment):
    with pytest.raises(SpecError) as err:
        find_refs(["ok", {"k": text}])
    assert fragment in str(err.value)
    assert text.split(" ")[-1] in str(err.value) or text in str(err.value)


def test_whole_ref():
    assert whole_ref("${parameters.data}") == Ref("parameters", "data", text="${parameters.data}")
    assert whole_ref("${parameters.data}!") is None
    assert whole_ref(3) is None


def test_a_guard_reads_a_boolean_and_may_negate_it():
    guard = parse_guard("${steps.evaluate.outputs.passed}")
    assert guard.holds(PARAMS, OUTPUTS) is True
    assert parse_guard("not ${steps.evaluate.outputs.passed}").holds(PARAMS, OUTPUTS) is False
    with pytest.raises(SpecError, match="is 0.97, not true or false"):
        parse_guard("${steps.evaluate.outputs.metrics.roc_auc}").holds(PARAMS, OUTPUTS)


@pytest.mark.parametrize(
    "text", ["passed", "${a.b}", "${parameters.x} or ${parameters.y}", "!${parameters.x}"]
)
def test_a_guard_is_one_reference(text):
    with pytest.raises(SpecError):
        parse_guard(text)
