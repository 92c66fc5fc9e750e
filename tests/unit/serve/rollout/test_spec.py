import pytest

import serve.rollout
from ray_apps.errors import SpecError
from serve.rollout import Guardrails, RolloutSpec, parse_rollout_spec

BASE = {"endpoint": "fairness", "candidate": "fair:5"}


def test_public_names():
    assert sorted(serve.rollout.__all__) == [
        "Decision",
        "Guardrails",
        "Observations",
        "RolloutSpec",
        "RolloutState",
        "decide",
        "parse_rollout_spec",
        "rate_lower_bound",
        "start",
    ]


def test_defaults():
    spec = parse_rollout_spec(BASE)
    assert (spec.strategy, spec.bake_s, spec.max_hold_s) == ("canary", 300, None)
    assert spec.guardrails == Guardrails()
    assert (spec.model, spec.version) == ("fair", 5)
    assert spec.percents() == [10, 100]


@pytest.mark.parametrize(
    ("fields", "percents"),
    [
        ({"strategy": "canary"}, [10, 100]),
        ({"strategy": "all-at-once"}, [100]),
        ({"strategy": "all-at-once", "steps": [100]}, [100]),
        ({"strategy": "linear"}, [10, 20, 30, 40, 50, 60, 70, 80, 90, 100]),
        ({"strategy": "linear", "linear_step_percent": 30}, [30, 60, 90, 100]),
        ({"strategy": "linear", "linear_step_percent": 25}, [25, 50, 75, 100]),
        ({"strategy": "linear", "linear_step_percent": 100}, [100]),
        ({"strategy": "linear", "steps": [1, 50, 100]}, [1, 50, 100]),
        ({"steps": [5, 25, 100]}, [5, 25, 100]),
    ],
)
def test_percents(fields, percents):
    assert parse_rollout_spec(BASE | fields).percents() == percents


def test_linear_steps_do_not_accumulate_float_error():
    spec = parse_rollout_spec(BASE | {"strategy": "linear", "linear_step_percent": 0.1})
    got = spec.percents()
    assert len(got) == 1000 and got[9] == 1.0 and got[-2] == 99.9 and got[-1] == 100


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"steps": [10, 50]}, r"steps: steps \[10.0, 50.0\] end at 50; the last step must be 100"),
        ({"steps": [50, 10, 100]}, "must increase step by step; e.g. "),
        ({"steps": [10, 10, 100]}, "must increase step by step"),
        ({"steps": [0, 100]}, r"must each lie in \(0, 100\]"),
        ({"steps": [10, 150]}, r"must each lie in \(0, 100\]"),
        ({"steps": []}, "steps is empty"),
        ({"strategy": "all-at-once", "steps": [10, 100]}, "drop steps or use strategy canary"),
        ({"strategy": "blue-green"}, "strategy: Input should be 'canary', 'linear' or"),
        ({"linear_step_percent": 20}, "applies to strategy linear without explicit steps"),
        (
            {"strategy": "linear", "linear_step_percent": 20, "steps": [50, 100]},
            "drop one of them",
        ),
        ({"strategy": "linear", "linear_step_percent": 0}, "linear_step_percent: Input should"),
        ({"candidate": "fair"}, "candidate: 'fair' names no version; .* e.g. 'fair:5'"),
        ({"candidate": "fair:latest"}, "names no version"),
        ({"candidate": "fair:0"}, "must be a positive integer"),
        ({"candidate": "fair:v2"}, "must be a positive integer"),
        ({"candidate": "../etc:1"}, "model name '../etc' is invalid"),
        ({"endpoint": "no spaces"}, "endpoint: String should match pattern"),
        ({"bake_s": -1}, "bake_s: Input should be greater than or equal to 0"),
        ({"max_hold_s": 0}, "max_hold_s: Input should be greater than 0"),
        ({"guardrails": {"confidence": 1.0}}, "guardrails.confidence: Input should be less"),
        ({"guardrails": {"max_error_rate": 1}}, "guardrails.max_error_rate: Input should be"),
        ({"guardrails": {"max_p99_ratio": 0.5}}, "guardrails.max_p99_ratio: Input should be"),
        ({"guardrails": {"min_requests": 0}}, "guardrails.min_requests: Input should be"),
        ({"guardrails": {"max_5xx": 0.1}}, "guardrails.max_5xx: unknown field"),
        ({"bake": 30}, "bake: unknown field; remove it or check its spelling"),
    ],
)
def test_invalid_specs_name_the_field_and_the_fix(fields, message):
    with pytest.raises(SpecError, match=f"^rollout spec: .*{message}"):
        parse_rollout_spec(BASE | fields)


def test_missing_fields_are_named():
    with pytest.raises(SpecError, match="candidate: required field is missing"):
        parse_rollout_spec({"endpoint": "fairness"})


def test_candidate_is_normalised_and_specs_are_frozen():
    spec = parse_rollout_spec(BASE | {"candidate": "fair:05"})
    assert spec.candidate == "fair:5"
    with pytest.raises(ValueError, match="frozen"):
        spec.bake_s = 1  # type: ignore[misc]


def test_from_yaml_and_from_a_spec(tmp_path):
    path = tmp_path / "rollout.yaml"
    path.write_text(
        "endpoint: fairness\ncandidate: fair:5\nstrategy: linear\nlinear_step_percent: 50\n"
        "guardrails: {min_requests: 500, on_alert: false}\n"
    )
    spec = parse_rollout_spec(path)
    assert spec.percents() == [50, 100]
    assert (spec.guardrails.min_requests, spec.guardrails.on_alert) == (500, False)
    assert parse_rollout_spec(spec) is spec
    assert isinstance(spec, RolloutSpec)
    path.write_text("endpoint: fairness\ncandidate: fair:5\nsteps: [10]\n")
    with pytest.raises(SpecError, match=f"^{path}: steps: .*must be 100"):
        parse_rollout_spec(path)
