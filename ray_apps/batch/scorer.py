"""The scoring actor Ray Data's ``map_batches`` runs: one model load, then unit after unit.

Each actor loads the model once, the way a serving replica does: the version the driver
resolved (Approved, unless the job forced it) is fetched and its artifact checked against the
manifest digest registered for it. A batch is a handful of unit descriptions; the actor scores
each into its parts (``transform.score_unit``) and answers with the unit's stats.
"""

from __future__ import annotations

import json
import os
import signal
from dataclasses import dataclass

import numpy as np

from ray_apps.batch import _storage
from ray_apps.batch.plan import Unit
from ray_apps.batch.spec import BatchFault
from ray_apps.batch.transform import UnitContext, score_unit
from ray_apps.registry import ModelVersion


@dataclass(frozen=True)
class ScorerConfig:
    """What an actor is built with: the resolved version, the unit context, the fault plan."""

    version: ModelVersion
    unit: UnitContext
    inject: BatchFault | None = None


class UnitScorer:
    """Callable class for ``Dataset.map_batches``: units in, their stats out."""

    def __init__(self, config: ScorerConfig):
        from ray_apps.artifact import load_model
        from ray_apps.registry import fetch_artifact

        self.config = config
        self.model = load_model(fetch_artifact(config.version))

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, list]:
        stats = []
        for text in batch["unit"]:
            unit = Unit(**json.loads(text))
            result = score_unit(
                unit, self.model, self.config.unit, lambda u=unit: self._maybe_fail(u)
            )
            stats.append(json.dumps(result.to_dict()))
        return {"stats": stats}

    def _maybe_fail(self, unit: Unit) -> None:
        """Die once at the planned unit, after its parts are written and before it commits."""
        inject = self.config.inject
        if inject is None or inject.at_unit != unit.index:
            return
        fs, run_dir = _storage.filesystem(self.config.unit.run_dir)
        if not _storage.claim_once(fs, f"{run_dir}/faults/unit-{unit.index}"):
            return
        print(f"[raymaker] injecting a '{inject.mode}' fault at unit {unit.index}", flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
