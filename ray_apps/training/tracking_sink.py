"""Live per-epoch metrics from rank 0 to the run's MLflow run (the driver opened it)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ray_apps.training.loop_config import MetricTarget


class MetricSink:
    """Logs to MLflow when given a target run; does nothing when given None."""

    def __init__(self, target: MetricTarget | None):
        self._client = None
        self._run_id = None
        if target:
            from mlflow.tracking import MlflowClient

            self._client = MlflowClient(tracking_uri=target.uri)
            self._run_id = target.run_id

    def log(self, metrics: dict[str, Any], step: int) -> None:
        if self._client is None:
            return
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        batch = [Metric(k, float(v), now, step) for k, v in metrics.items() if k != "epoch"]
        self._client.log_batch(self._run_id, metrics=batch)

    def tag(self, key: str, value: str) -> None:
        if self._client is not None:
            self._client.set_tag(self._run_id, key, value[:5000])
