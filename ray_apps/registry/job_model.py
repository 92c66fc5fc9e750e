"""The model a watch job (monitor, bias, explain) reads: a registry reference, or an artifact."""

from __future__ import annotations

from pydantic import Field, field_validator, model_validator

from ray_apps.registry.registry import parse_ref
from ray_apps.spec import _Strict


class JobModelSpec(_Strict):
    """``model`` is ``name:version`` (latest without a version), loaded from the registry with
    its checksum; ``artifact`` a folder to load instead, taken to be the version ``model``
    names (reports are indexed by it, so the version is then required)."""

    name: str | None = Field(None, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
    model: str
    artifact: str | None = Field(None, description="an artifact folder instead of the registry")
    tracking_uri: str | None = None

    @field_validator("model")
    @classmethod
    def _model_ref(cls, ref: str) -> str:
        parse_ref(ref)  # SpecError naming the bad name or version
        return ref

    @model_validator(mode="after")
    def _artifact_names_a_version(self):
        if self.artifact is not None and parse_ref(self.model)[1] is None:
            raise ValueError(
                f"model {self.model!r} names no version, and artifact is given: name the version "
                f"the artifact is (model: {self.model}:<version>) so reports are indexed by it"
            )
        return self
