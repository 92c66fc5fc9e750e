"""Lineage of a trained model: which data, code and libraries made it."""

from __future__ import annotations

import platform
import subprocess
import time
from importlib import metadata
from pathlib import Path
from typing import Any

from ray_apps.data import TabularData

_LIBRARIES = ("raymaker", "ray", "torch", "xgboost", "mlflow", "numpy", "pandas", "scikit-learn")


def code_version() -> str:
    """The git commit of the working tree (with ``-dirty`` if changed), else the package version."""
    root = Path(__file__).resolve().parent.parent
    try:
        sha = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=5,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        sha, dirty = "", ""
    if sha:
        return sha + ("-dirty" if dirty else "")
    return f"raymaker=={_version('raymaker')}"


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "absent"


def lineage(run_name: str, data: TabularData, mlflow_run_id: str) -> dict[str, Any]:
    return {
        "run_name": run_name,
        "mlflow_run_id": mlflow_run_id,
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "data": {
            "fingerprint": data.fingerprint,
            "label": data.label,
            "task": data.task,
            "rows": {"train": len(data.train), "valid": len(data.valid), "test": len(data.test)},
        },
        "code_version": code_version(),
        "python": platform.python_version(),
        "libraries": {name: _version(name) for name in _LIBRARIES},
    }
