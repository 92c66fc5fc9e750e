"""The explanation job spec: which model version, which rows, how many, where to write.

    name: cancer-why
    model: cancer:3                 # a registered version; "cancer" is the newest Approved one
    artifact: null                  # or an artifact folder (then model names its version)
    dataset: data/test.parquet      # CSV/Parquet file or folder holding the model's features
    rows: 1000                      # explain the first this many rows
    background_rows: 50             # permutation explainers: baseline rows to explain against
    permutations: 10                # permutation explainers: antithetic passes per row
    batch_size: 256                 # rows per Ray Data batch
    concurrency: null               # explainer actors (default: 2)
    output: null                    # reports root (default $RAYMAKER_HOME/explain)
    plot: true                      # also write summary.png

Unknown keys are rejected; every error names the field, what it got and what is allowed.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator, model_validator

from ray_apps.registry import parse_ref
from ray_apps.spec import _Strict, load_yaml, parse_spec


class ExplainJobSpec(_Strict):
    """One batch explanation: per-row SHAP values, global importance and a summary plot."""

    name: str | None = Field(None, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
    model: str
    artifact: str | None = Field(None, description="an artifact folder instead of the registry")
    tracking_uri: str | None = None
    dataset: str = Field(min_length=1, description="CSV/Parquet file or folder")
    rows: int = Field(1000, ge=1, le=1_000_000)
    background_rows: int = Field(50, ge=1, le=10_000)
    permutations: int = Field(10, ge=1, le=1000)
    batch_size: int = Field(256, ge=1, le=100_000)
    concurrency: int | None = Field(None, ge=1, le=256)
    output: str | None = None
    plot: bool = True

    @field_validator("model")
    @classmethod
    def _model_ref(cls, ref: str) -> str:
        parse_ref(ref)  # SpecError naming the bad name or version
        return ref

    @field_validator("output")
    @classmethod
    def _local(cls, output: str | None) -> str | None:
        if output is not None and "://" in output and not output.startswith("file://"):
            raise ValueError(
                f"{output!r}: explanation reports are written to a local or mounted folder; "
                "give a path"
            )
        return output

    @model_validator(mode="after")
    def _consistent(self) -> ExplainJobSpec:
        if self.artifact is not None and parse_ref(self.model)[1] is None:
            raise ValueError(
                f"model {self.model!r} names no version, and artifact is given: name the version "
                f"the artifact is (model: {self.model}:<version>) so reports are indexed by it"
            )
        return self


def parse_explain_spec(
    data: ExplainJobSpec | dict | str | Path, source: str = "explain job"
) -> ExplainJobSpec:
    """A validated spec from a spec, a mapping or a YAML file; SpecError names the field."""
    if isinstance(data, ExplainJobSpec):
        return data
    if isinstance(data, (str, Path)):
        return parse_spec(ExplainJobSpec, load_yaml(data), source=str(data))
    return parse_spec(ExplainJobSpec, data, source=source)
