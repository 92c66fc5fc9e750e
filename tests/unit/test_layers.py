"""The layer contracts (pyproject.toml, import-linter) hold, and fail when a layer is crossed.

Each case copies the five packages into a temporary folder, adds one import, and runs the same
`lint-imports` that `make lint` runs there: a contract that cannot fail would prove nothing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT = Path(sys.executable).with_name("lint-imports")


def _copy(tmp_path: Path) -> Path:
    for package in ("ray_apps", "serve", "tuning", "pipelines", "console"):
        shutil.copytree(
            ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def _lint(tree: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(tree)}  # the copy, not the installed checkout
    return subprocess.run(
        [str(LINT), "--no-cache"], cwd=tree, env=env, capture_output=True, text=True
    )


def test_the_tree_as_it_is_keeps_every_contract(tmp_path):
    out = _lint(_copy(tmp_path))
    assert out.returncode == 0, out.stdout + out.stderr
    assert "4 kept, 0 broken" in out.stdout


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        ("ray_apps/registry/approval.py", "import serve.config", "imports neither serve"),
        ("ray_apps/training/runner.py", "from tuning import space", "imports neither serve"),
        ("serve/auth.py", "import tuning.space", "never import each other"),
        ("tuning/space.py", "from serve import routes", "never import each other"),
        ("ray_apps/evaluation/job.py", "import pipelines.spec", "imports neither serve"),
        ("serve/auth.py", "from pipelines import graph", "imported by no layer below it"),
        ("tuning/space.py", "import pipelines", "imported by no layer below it"),
        ("serve/auth.py", "import console.auth", "imported by nothing but the CLI"),
        ("pipelines/graph.py", "from console import settings", "imported by nothing but the CLI"),
    ],
)
def test_a_forbidden_import_breaks_its_contract(tmp_path, module, line, contract):
    tree = _copy(tmp_path)
    target = tree / module
    target.write_text(target.read_text() + f"\n{line}  # added by the test\n")
    out = _lint(tree)
    assert out.returncode != 0
    broken = out.stdout[out.stdout.index("Broken contracts") :]
    assert contract in broken and module.removesuffix(".py").replace("/", ".") in broken
