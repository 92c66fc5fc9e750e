"""Shared fixtures. Integration tests share one local Ray for the whole session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.fixture(scope="session", autouse=True)
def raymaker_home(tmp_path_factory) -> Path:
    """Every test writes runs and the MLflow store into one temporary project folder."""
    home = tmp_path_factory.mktemp("raymaker_home")
    os.environ["RAYMAKER_HOME"] = str(home)
    os.environ.pop("RAYMAKER_STORAGE", None)
    os.environ.pop("MLFLOW_TRACKING_URI", None)
    return home
