"""Every examples/*.yaml parses with the loader of its kind, the rollout demo's pure helpers, and
the quickstart notebook is committed clean."""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _loaders():
    from pipelines import load_pipeline, validate
    from ray_apps.monitoring.spec import parse_monitor_spec
    from ray_apps.spec import load_train_spec
    from serve.config import load_endpoint_spec
    from serve.rollout.spec import parse_rollout_spec
    from tuning.spec import load_tune_spec

    return {
        "train_": load_train_spec,
        "tune_": load_tune_spec,
        "monitor_": parse_monitor_spec,
        "endpoint_": load_endpoint_spec,
        "rollout": parse_rollout_spec,
        "pipeline_": lambda p: validate(load_pipeline(p)),
    }


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.name)
def test_every_example_yaml_is_valid(path):
    loaders = _loaders()
    kind = next((k for k in loaders if path.name.startswith(k)), None)
    assert kind is not None, f"{path.name}: name it after its kind, one of {sorted(loaders)}"
    assert loaders[kind](path) is not None


def test_the_variants_and_rollout_examples_say_what_the_readme_shows():
    from serve.config import load_endpoint_spec
    from serve.rollout.spec import parse_rollout_spec

    endpoint = load_endpoint_spec(EXAMPLES / "endpoint_variants.yaml")
    assert [v.name for v in endpoint.variants] == ["prod", "cand"]
    assert endpoint.shadow.variant == "cand" and endpoint.auth.admin_key_envs
    rollout = parse_rollout_spec(EXAMPLES / "rollout.yaml")
    assert rollout.endpoint == endpoint.name and rollout.model == endpoint.variants[0].model_name
    assert rollout.percents() == [10, 50, 100]


def _demo_rollout():
    spec = importlib.util.spec_from_file_location("demo_rollout", EXAMPLES / "demo_rollout.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_demo_rollout_spec_is_a_short_canary():
    from serve.rollout.spec import parse_rollout_spec

    demo = _demo_rollout()
    spec = parse_rollout_spec(demo.demo_rollout_spec("cancer-endpoint", "cancer:7"))
    assert spec.percents() == [20, 100] and spec.bake_s == demo.BAKE_S
    assert spec.guardrails.min_requests == demo.MIN_REQUESTS
    assert spec.guardrails.max_error_rate == 0.01  # the guardrails' limits stay the defaults


def test_figures_line_of_a_decision():
    from serve.rollout import Observations, RolloutState, decide, parse_rollout_spec
    from serve.traffic.stats import VariantStats

    demo = _demo_rollout()
    spec = parse_rollout_spec(demo.demo_rollout_spec("ep", "cancer:7"))
    state = RolloutState(step=0, step_started_at=0.0, status="running")
    obs = Observations(VariantStats(), VariantStats(), "Approved")
    line = demo.figures_line(decide(spec, state, obs, now=1.0).figures)
    assert line.startswith("candidate 0 req, 5xx - (lower bound -)"), line
    assert "stable 0 req" in line and "not judged below 100 a side" in line
    assert demo.figures_line({}) == ""


def test_the_quickstart_notebook_is_committed_without_outputs_and_uses_public_names():
    import nbformat

    notebook = nbformat.read(EXAMPLES / "quickstart.ipynb", as_version=4)
    nbformat.validate(notebook)
    code = [c for c in notebook.cells if c.cell_type == "code"]
    assert code and all(not c.outputs and c.execution_count is None for c in code), (
        "clear the outputs of examples/quickstart.ipynb before committing it"
    )
    imported = set()
    for cell in code:
        for node in ast.walk(ast.parse(cell.source)):
            if isinstance(node, ast.ImportFrom):
                imported.add(node.module)
            elif isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
    private = sorted(m for m in imported if any(p.startswith("_") for p in m.split(".")))
    assert not private, f"the quickstart imports private modules: {private}"
    assert {"ray_apps", "serve"} <= imported, imported
