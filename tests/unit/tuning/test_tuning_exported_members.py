"""Pins the public surface of ``tuning``, and that it builds only on ``ray_apps.training``'s
public names."""

import ast
from pathlib import Path

import ray_apps.training
import tuning


def test_public_names():
    assert sorted(tuning.__all__) == ["TuneJobSpec", "TuneResult", "load_tune_spec", "run_tuning"]
    for name in tuning.__all__:
        assert getattr(tuning, name) is not None


def test_tuning_imports_only_public_training_names():
    for path in Path(tuning.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module.startswith("ray_apps.training"):
                assert node.module == "ray_apps.training", f"{path.name} imports {node.module}"
                for alias in node.names:
                    assert alias.name in ray_apps.training.__all__, f"{path.name}: {alias.name}"
