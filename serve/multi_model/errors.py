"""The multi-model endpoint's own refusal, in raymaker's exception tree (``ray_apps.errors``):

    RaymakerError
    └── ModelTooLarge    a model bigger than a replica's whole budget     (507, exit 2)

The endpoint's handler already answers a RaymakerError with its ``http_status``.
"""

from __future__ import annotations

from ray_apps.errors import RaymakerError


class ModelTooLarge(RaymakerError):
    """A model whose measured footprint exceeds the per-replica budget: loading it would evict
    every other model and still not fit. 507 Insufficient Storage, as the replica's memory is."""

    http_status = 507
    exit_code = 2

    def __init__(self, name: str, version: int, size: int, budget: int, setting: str):
        self.name = name
        self.version = version
        self.size = size  # bytes, as footprint.model_bytes measured the loaded model
        self.budget = budget
        self.setting = setting  # the spec field to raise: "max_model_bytes"
        super().__init__(
            f"model {name}:{version} needs {size:,} bytes loaded, above this endpoint's "
            f"per-replica budget models.{setting} = {budget:,}; raise models.{setting} to at "
            f"least {size:,} or serve this model from an endpoint of its own"
        )
