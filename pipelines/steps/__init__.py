"""What each step kind runs: kind name → executor, imported when first used.

An executor takes the step's resolved inputs (``pipelines.kinds`` declares them) and a
``StepContext`` and returns the outputs its kind declares. It calls the same public job
function a notebook calls (``run_training``, ``run_tuning``, ``registry.register``, …) and
nothing inside a job. ``condition`` and ``fail`` are decided by the runner itself.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ray_apps.errors import SpecError


@dataclass(frozen=True)
class StepContext:
    run_id: str
    step: str
    pipeline: str
    storage: str  # the run storage root


Executor = Callable[[Mapping[str, Any], StepContext], dict[str, Any]]

_EXECUTORS = {
    "train": "pipelines.steps.jobs:train",
    "tune": "pipelines.steps.jobs:tune",
    "evaluate": "pipelines.steps.jobs:evaluate",
    "batch": "pipelines.steps.jobs:batch",
    "monitor": "pipelines.steps.jobs:monitor",
    "explain": "pipelines.steps.jobs:explain",
    "bias": "pipelines.steps.jobs:bias",
    "register": "pipelines.steps.models:register",
    "approve": "pipelines.steps.models:approve",
    "wait_for_approval": "pipelines.steps.models:wait_for_approval",
    "deploy": "pipelines.steps.serving:deploy",
    "rollout": "pipelines.steps.serving:rollout",
}


def executor(kind: str) -> Executor:
    try:
        module, _, name = _EXECUTORS[kind].partition(":")
    except KeyError:
        raise SpecError(
            f"no executor for step kind {kind!r}; kinds: {sorted(_EXECUTORS)}"
        ) from None
    return getattr(importlib.import_module(module), name)
