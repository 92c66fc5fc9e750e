"""Validation of a pipeline's meaning: order, dependencies, and errors naming step and field."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from pipelines import Graph, describe, load_pipeline, validate
from pipelines.graph import _compatible
from ray_apps.errors import SpecError

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "pipeline_retrain.yaml"

FIVE = {
    "name": "retrain",
    "parameters": {
        "data": {"type": "str", "default": "sklearn:breast_cancer"},
        "min_auc": {"type": "float", "default": 0.9},
    },
    "steps": {
        "train": {"kind": "train", "with": {"config": "examples/train_xgboost.yaml"}},
        "evaluate": {
            "kind": "evaluate",
            "with": {"artifact": "${steps.train.outputs.artifact}", "data": "${parameters.data}"},
        },
        "gate": {
            "kind": "condition",
            "with": {
                "all": [
                    {
                        "left": "${steps.evaluate.outputs.metrics.roc_auc}",
                        "op": ">=",
                        "right": "${parameters.min_auc}",
                    }
                ]
            },
        },
        "register": {
            "kind": "register",
            "if": "${steps.gate.outputs.passed}",
            "with": {"artifact": "${steps.train.outputs.artifact}", "model": "cancer"},
        },
        "deploy": {
            "kind": "deploy",
            "with": {
                "config": "examples/endpoint_variants.yaml",
                "model": "${steps.register.outputs.model}",
                "version": "${steps.register.outputs.version}",
            },
        },
    },
}


def _with(changes: dict) -> dict:
    """FIVE with ``changes`` (step name → step fields, None removes the step) merged in."""
    data = copy.deepcopy(FIVE)
    for name, fields in changes.items():
        if fields is None:
            del data["steps"][name]
        else:
            data["steps"][name] = {**data["steps"].get(name, {}), **fields}
    return data


def _errors(data: dict) -> str:
    with pytest.raises(SpecError) as err:
        validate(load_pipeline(data))
    return str(err.value)


def test_the_five_step_pipeline_validates_in_order():
    graph = validate(load_pipeline(FIVE))
    assert graph.order == ("train", "evaluate", "gate", "register", "deploy")
    assert graph.upstream == {
        "train": frozenset(),
        "evaluate": {"train"},
        "gate": {"evaluate"},
        "register": {"gate", "train"},  # `if` counts as a dependency
        "deploy": {"register"},
    }
    assert graph.downstream("train") == {"evaluate", "gate", "register", "deploy"}
    assert graph.downstream("gate") == {"register", "deploy"}
    assert graph.downstream("deploy") == set()


def test_the_order_does_not_depend_on_the_written_order():
    data = copy.deepcopy(FIVE)
    data["steps"] = dict(reversed(data["steps"].items()))
    assert validate(load_pipeline(data)).order == (
        "train",
        "evaluate",
        "gate",
        "register",
        "deploy",
    )


def test_ties_keep_the_written_order():
    steps = {
        "b": {"kind": "train", "with": {"config": "b.yaml"}},
        "a": {"kind": "train", "with": {"config": "a.yaml"}},
        "c": {"kind": "fail", "with": {"message": "x"}, "after": ["a", "b"]},
        "z": {"kind": "train", "with": {"config": "z.yaml"}},
    }
    graph = validate(load_pipeline({"name": "p", "steps": steps}))
    assert graph.order == ("b", "a", "c", "z")
    assert graph.upstream["c"] == {"a", "b"} and graph.downstream("b") == {"c"}


def test_the_graph_is_read_only():
    graph = validate(load_pipeline(FIVE))
    with pytest.raises(TypeError):
        graph.upstream["train"] = frozenset({"deploy"})
    with pytest.raises(SpecError, match="no step 'nope'; the steps are train, evaluate"):
        graph.downstream("nope")
    assert isinstance(graph, Graph)


def test_the_example_file_validates():
    spec = load_pipeline(EXAMPLE)
    graph = validate(spec)
    assert graph.order == ("train", "evaluate", "gate", "register", "fail")
    assert spec.steps["train"].cache.enabled and spec.steps["train"].with_["config"]
    assert Path(EXAMPLE.parents[1] / spec.steps["train"].with_["config"]).is_file()
    assert spec.steps["fail"].guard.negated and not spec.steps["register"].guard.negated
    assert {n: p.default for n, p in spec.parameters.items()} == {
        "data": "sklearn:breast_cancer",
        "min_auc": 0.9,
        "model": "cancer",
    }


@pytest.mark.parametrize(
    ("changes", "fragments"),
    [
        (
            {"train": {"kind": "trian"}},
            ["step 'train' kind: unknown kind 'trian'", "train, tune, evaluate", "fail"],
        ),
        (
            {"train": {"with": {"config": "t.yaml", "configg": 1}}},
            ["step 'train' with.configg", "no input 'configg'", "its inputs: config, overrides"],
        ),
        (
            {"evaluate": {"with": {"artifact": "${steps.train.outputs.artifact}"}}},
            ["step 'evaluate' with.data", "requires input 'data'"],
        ),
        (
            {"register": {"with": {"artifact": "${steps.trian.outputs.artifact}", "model": "m"}}},
            ["step 'register' with.artifact", "no step 'trian'", "train, evaluate, gate"],
        ),
        (
            {"register": {"with": {"artifact": "${steps.train.outputs.model}", "model": "m"}}},
            ["step 'register' with.artifact", "has no output 'model'", "artifact, run_name"],
        ),
        (
            {"register": {"with": {"artifact": "${steps.train.outputs.artifact.x}", "model": "m"}}},
            ["step 'register' with.artifact", "has type path, not dict", "drop .x"],
        ),
        (
            {"evaluate": {"with": {"artifact": "a", "data": "${parameters.dataset}"}}},
            ["step 'evaluate' with.data", "${parameters.dataset}", "declared: data, min_auc"],
        ),
        (
            {"train": {"with": {"config": "${steps.train.outputs.artifact}"}}},
            ["step 'train' with.config", "refers to the step itself"],
        ),
        (
            {"train": {"with": {"config": "t.yaml"}, "after": ["evaluat"]}},
            ["step 'train' after[0]", "no step 'evaluat'", "the steps: train, evaluate"],
        ),
        (
            {"train": {"with": {"config": "t.yaml"}, "after": ["train"]}},
            ["step 'train' after[0]", "refers to the step itself"],
        ),
        (
            {"deploy": {"with": {"config": "e.yaml", "version": "${steps.register.outputs.ref}"}}},
            ["step 'deploy' with.version", "has type str", "takes int"],
        ),
        (
            {"deploy": {"with": {"config": "e.yaml", "model": "${steps.train.outputs.metrics}"}}},
            ["step 'deploy' with.model", "has type dict", "takes str"],
        ),
        (
            {"deploy": {"with": {"config": "e.yaml", "version": "three"}}},
            ["step 'deploy' with.version", "'three' has type str", "takes int"],
        ),
        (
            {"deploy": {"with": {"config": "e.yaml", "version": "${parameters.min_auc}"}}},
            ["step 'deploy' with.version", "has type float", "takes int"],
        ),
        (
            {"train": {"with": {"config": "t.yaml", "overrides": ["x"]}}},
            ["step 'train' with.overrides", "has type list", "takes dict"],
        ),
        (
            {"register": {"if": "${steps.train.outputs.run_name}"}},
            ["step 'register' if", "has type str, not bool"],
        ),
        (
            {"register": {"if": "not ${parameters.min_auc}"}},
            ["step 'register' if", "has type float, not bool"],
        ),
        (
            {"register": {"if": "${steps.gate.outputs.nope}"}},
            ["step 'register' if", "no output 'nope'", "its outputs: passed"],
        ),
        (
            {"gate": {"with": {"all": [], "any": []}}},
            ["step 'gate' with", "exactly one of all or any"],
        ),
        (
            {"gate": {"with": {}}},
            ["step 'gate' with", "exactly one of all or any"],
        ),
        (
            {"gate": {"with": {"all": [{"left": 1, "op": "=>", "right": 1}]}}},
            ["step 'gate' with", "all[0].op '=>'", "==, !=, <"],
        ),
        (
            {"gate": {"with": {"any": [{"left": "${steps.register.outputs.version}"}]}}},
            ["step 'gate' with", "any[0] must be"],
        ),
        (
            {
                "gate": {
                    "with": {
                        "all": [
                            {"left": "${steps.evaluate.outputs.passed}", "op": ">", "right": 0.5}
                        ]
                    }
                }
            },
            ["step 'gate' with.all[0]", "compares a bool with a number"],
        ),
        (
            {"fail": {"kind": "fail", "with": {"message": "${steps.deploy.outputs.nope}"}}},
            ["step 'fail' with.message", "(kind deploy) has no output 'nope'", "endpoint, url"],
        ),
        (
            {
                "x": {"kind": "condition", "with": {"all": [{"left": "${steps.fail.outputs.y}"}]}},
                "fail": {"kind": "fail", "with": {"message": "m"}},
            },
            ["step 'x' with.all", "(kind fail) has no output 'y'; its outputs: none"],
        ),
    ],
)
def test_each_error_names_the_step_the_field_and_the_fix(changes, fragments):
    message = _errors(_with(changes))
    assert message.startswith("pipeline retrain: ")
    for fragment in fragments:
        assert fragment in message, message


def test_compatible_types():
    assert _compatible("int", "float") and not _compatible("float", "int")
    assert _compatible("path", "str") and _compatible("str", "path")
    assert _compatible("dict", "any") and _compatible("any", "int")
    assert not _compatible("bool", "int") and not _compatible("list", "dict")


def test_types_that_fit_pass():
    changes = {
        "wait": {
            "kind": "wait_for_approval",
            "with": {
                "model": "${steps.register.outputs.model}",
                "version": "${steps.register.outputs.version}",
                "timeout_s": "${steps.register.outputs.version}",  # int feeds a float
            },
        },
        "evaluate": {
            "with": {
                "artifact": "${steps.train.outputs.artifact}",
                "data": "${steps.train.outputs.artifact}",  # path feeds a str
                "gate": "${steps.train.outputs.metrics}",
                "overrides": {"name": "prefix-${steps.train.outputs.metrics}"},  # formatted
            }
        },
        "register": {"if": "${steps.evaluate.outputs.metrics.ok}"},  # unknown: run time
    }
    validate(load_pipeline(_with(changes)))


def test_every_problem_is_reported_at_once():
    message = _errors(
        _with(
            {
                "train": {"kind": "trian"},
                "deploy": {"with": {"config": "e.yaml", "version": "three"}, "after": ["nope"]},
            }
        )
    )
    assert "step 'train' kind" in message and "step 'deploy' with.version" in message
    assert "step 'deploy' after[0]" in message


def test_a_cycle_is_printed_in_order():
    message = _errors(_with({"train": {"after": ["gate"]}}))
    assert "cycle train → evaluate → gate → train" in message
    assert message.count("cycle") == 1 and "step 'train' after[0]" in message
    # register uses train directly: the loop found is the short one through it.
    message = _errors(_with({"train": {"with": {"config": "${steps.register.outputs.ref}"}}}))
    assert "cycle train → register → train" in message and "step 'train' with.config" in message


def test_a_two_step_cycle_through_after():
    steps = {
        "a": {"kind": "train", "with": {"config": "a.yaml"}, "after": ["b"]},
        "b": {"kind": "train", "with": {"config": "${steps.a.outputs.artifact}"}},
        "c": {"kind": "train", "with": {"config": "c.yaml"}},
    }
    with pytest.raises(SpecError) as err:
        validate(load_pipeline({"name": "p", "steps": steps}))
    assert "the steps form a cycle a → b → a" in str(err.value)
    assert "step 'a' after[0]" in str(err.value)


def test_describe_shows_one_line_per_step():
    spec = load_pipeline(FIVE)
    lines = describe(validate(spec), spec).splitlines()
    assert lines[0] == "pipeline retrain: 5 steps"
    assert [line.split()[1] for line in lines[1:]] == list(validate(spec).order)
    assert "train" in lines[1] and "(no upstream)" in lines[1]
    assert "after train, gate" in lines[4] and "if ${steps.gate.outputs.passed}" in lines[4]
    assert lines[5].split()[2] == "deploy" and lines[5].endswith("after register")
