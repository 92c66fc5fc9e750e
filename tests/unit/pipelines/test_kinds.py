"""The step-kind table, and the pure evaluation of a condition step."""

from __future__ import annotations

import pytest

from pipelines import KINDS, StepKind
from pipelines.condition import evaluate_condition, parse_condition
from pipelines.kinds import TYPES
from ray_apps.errors import SpecError

OUTPUTS = {
    "train": {"artifact", "run_name", "metrics"},
    "tune": {"best_artifact", "best_params", "best_metrics", "run_name"},
    "evaluate": {"metrics", "passed", "report"},
    "register": {"model", "version", "ref"},
    "approve": {"approved", "by"},
    "wait_for_approval": {"approved", "by"},
    "deploy": {"endpoint", "url", "models"},
    "rollout": {"status", "promoted", "reason"},
    "batch": {"output", "rows_out", "rejected"},
    "monitor": {"drifted", "report", "alerts"},
    "explain": {"report"},
    "bias": {"report", "passed"},
    "condition": {"passed"},
    "fail": set(),
}


def test_the_table_holds_exactly_these_kinds_and_outputs():
    assert {name: set(kind.outputs) for name, kind in KINDS.items()} == OUTPUTS


@pytest.mark.parametrize("kind", KINDS.values(), ids=lambda k: k.name)
def test_every_kind_is_well_formed(kind: StepKind):
    assert kind.name in KINDS and kind.doc
    assert kind.required <= set(kind.inputs) and kind.exactly_one <= set(kind.inputs)
    assert set(kind.inputs.values()) | set(kind.outputs.values()) <= set(TYPES)


def test_required_inputs_and_types():
    assert KINDS["train"].required == {"config"} and KINDS["train"].inputs["config"] == "path"
    assert KINDS["evaluate"].required == {"data"}
    assert KINDS["evaluate"].exactly_one == {"artifact", "model"}  # a candidate or a version
    assert KINDS["approve"].required == {"model", "version"}
    assert KINDS["approve"].inputs["version"] == "int"
    assert KINDS["rollout"].required == {"config", "candidate"}
    assert KINDS["fail"].required == {"message"} and KINDS["fail"].outputs == {}
    assert KINDS["register"].outputs == {"model": "str", "version": "int", "ref": "str"}
    assert KINDS["condition"].required == set()
    assert KINDS["condition"].exactly_one == {"all", "any"}
    assert KINDS["evaluate"].outputs["passed"] == "bool"


# ---- condition --------------------------------------------------------------------------------


def _c(left, op, right):
    return {"left": left, "op": op, "right": right}


@pytest.mark.parametrize(
    ("clause", "holds"),
    [
        (_c(0.95, ">=", 0.9), True),
        (_c(0.85, ">=", 0.9), False),
        (_c(1, "<", 1.5), True),  # int and float compare as numbers
        (_c(2, "<=", 2), True),
        (_c(3, ">", 3), False),
        (_c("a", "<", "b"), True),
        (_c("Approved", "==", "Approved"), True),
        (_c(True, "!=", False), True),
        (_c(True, "==", True), True),
    ],
)
def test_each_comparison(clause, holds):
    assert evaluate_condition({"all": [clause]}) is holds


def test_all_and_any():
    good, bad = _c(1, "==", 1), _c(1, "==", 2)
    assert evaluate_condition({"all": [good, good]}) is True
    assert evaluate_condition({"all": [good, bad]}) is False
    assert evaluate_condition({"any": [bad, good]}) is True
    assert evaluate_condition({"any": [bad, bad]}) is False


@pytest.mark.parametrize(
    ("inputs", "fragments"),
    [
        ({"all": [_c(0.9, ">=", "0.9")]}, ["all[0]", "compares a number with a str", "quoted"]),
        ({"any": [_c(1, "==", 1), _c(1, "<", "x")]}, ["any[1]", "number with a str"]),
        ({"all": [_c(True, "<", False)]}, ["orders booleans with <", "use == or !="]),
        ({"all": [_c(True, "==", 1)]}, ["compares a bool with a number"]),
        ({"all": [_c(None, "==", 1)]}, ["compares a NoneType with a number"]),
        ({"all": [_c([1], "==", [1])]}, ["compares a list with a list"]),
        ({"all": [_c(1, "=>", 1)]}, ["all[0].op '=>'", "==, !=, <, <=, >, >="]),
        ({"all": [{"left": 1, "op": "=="}]}, ["all[0] must be {left: ..., op: ..., right: ..."]),
        ({"all": ["x >= 1"]}, ["all[0] must be", "got str"]),
        ({"all": []}, ["non-empty list"]),
        ({"all": {"left": 1}}, ["non-empty list"]),
        ({}, ["exactly one of all", "got neither"]),
        ({"all": [_c(1, "==", 1)], "any": [_c(1, "==", 1)]}, ["got both"]),
        ({"all": [_c(1, "==", 1)], "when": 1}, ["['when'] are unknown"]),
    ],
)
def test_a_bad_condition_is_named(inputs, fragments):
    with pytest.raises(SpecError) as err:
        evaluate_condition(inputs)
    for fragment in fragments:
        assert fragment in str(err.value)


def test_a_type_error_after_a_deciding_clause_still_raises():
    with pytest.raises(SpecError, match=r"all\[1\]"):
        evaluate_condition({"all": [_c(1, "==", 2), _c(1, "==", "1")]})


def test_parse_condition_checks_only_the_shape():
    mode, clauses = parse_condition({"any": [_c("${steps.e.outputs.passed}", "==", True)]})
    assert mode == "any" and clauses[0].left == "${steps.e.outputs.passed}"


@pytest.mark.parametrize(
    ("left", "op", "right", "margin", "holds"),
    [
        (0.990, ">=", 0.980, 0.005, True),  # beats the serving version by 0.01 ≥ 0.005
        (0.982, ">=", 0.980, 0.005, False),  # better, but not by the margin
        (0.985, ">", 0.980, 0.005, False),  # equal to right + margin is not strictly above
        (0.30, "<=", 0.40, 0.05, True),  # a loss: lower by at least the margin
        (0.38, "<=", 0.40, 0.05, False),
        (0.979, ">=", 0.980, -0.002, True),  # a negative margin tolerates a small loss
    ],
)
def test_a_margin_makes_the_left_side_win_by_that_much(left, op, right, margin, holds):
    clause = {"left": left, "op": op, "right": right, "margin": margin}
    assert evaluate_condition({"all": [clause]}) is holds


@pytest.mark.parametrize(
    ("clause", "says"),
    [
        ({"left": 1, "op": "==", "right": 1, "margin": 0.1}, "goes with an ordering"),
        ({"left": 1, "op": ">=", "right": 1, "margin": True}, "must be a number"),
        ({"left": 1, "op": ">=", "right": 1, "spread": 0.1}, "exactly those keys"),
    ],
)
def test_a_bad_margin_is_refused_naming_the_clause(clause, says):
    with pytest.raises(SpecError, match=says) as err:
        parse_condition({"all": [clause]})
    assert "all[0]" in str(err.value)


def test_a_margin_that_resolves_to_text_is_an_error_not_false():
    clause = {"left": 0.99, "op": ">=", "right": 0.98, "margin": "0.01"}
    with pytest.raises(SpecError, match="margin"):
        evaluate_condition({"all": [clause]})
