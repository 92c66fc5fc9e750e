"""Pins the public surface of ``pipelines``, and that importing it starts no Ray."""

import subprocess
import sys
from pathlib import Path

import pipelines

ROOT = Path(__file__).resolve().parents[3]


def test_public_names():
    assert sorted(pipelines.__all__) == [
        "Graph",
        "KINDS",
        "PipelineSpec",
        "StepKind",
        "StepSpec",
        "TriggerSpec",
        "bind_parameters",
        "describe",
        "load_pipeline",
        "pipeline_status",
        "resume_pipeline",
        "run_pipeline",
        "start_once",
        "validate",
    ]
    assert all(hasattr(pipelines, name) for name in pipelines.__all__)


def test_importing_the_package_imports_no_ray():
    code = "import sys, pipelines; sys.exit('ray' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT).returncode == 0
