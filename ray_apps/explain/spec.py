"""The explanation job spec: which model version, which rows, how many, where to write.

    name: cancer-why
    model: cancer:3                 # a registered version; "cancer" is the newest Approved one
    artifact: null                  # or an artifact folder (then model names its version)
    dataset: data/test.parquet      # CSV/Parquet file or folder holding the model's features
    rows: 1000                      # explain the first this many rows
    background_rows: 50             # permutation explainers: baseline rows to explain against
    permutations: 10                # permutation explainers: antithetic passes per row
    batch_size: 16384               # rows per Ray Data batch (one SHAP call each)
    concurrency: null               # explainer actors (default: 2)
    output: null                    # reports root (default $RAYMAKER_HOME/explain)
    plot: true                      # also write summary.png

Unknown keys are rejected; every error names the field, what it got and what is allowed.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator

from ray_apps.registry.job_model import JobModelSpec
from ray_apps.spec import spec_from


class ExplainJobSpec(JobModelSpec):
    """One batch explanation: per-row SHAP values, global importance and a summary plot."""

    dataset: str = Field(min_length=1, description="CSV/Parquet file or folder")
    rows: int = Field(1000, ge=1, le=1_000_000)
    background_rows: int = Field(50, ge=1, le=10_000)
    permutations: int = Field(10, ge=1, le=1000)
    batch_size: int = Field(16_384, ge=1, le=100_000)
    concurrency: int | None = Field(None, ge=1, le=256)
    output: str | None = None
    plot: bool = True

    @field_validator("output")
    @classmethod
    def _local(cls, output: str | None) -> str | None:
        if output is not None and "://" in output and not output.startswith("file://"):
            raise ValueError(
                f"{output!r}: explanation reports are written to a local or mounted folder; "
                "give a path"
            )
        return output


def parse_explain_spec(
    data: ExplainJobSpec | dict | str | Path, source: str = "explain job"
) -> ExplainJobSpec:
    """A validated spec from a spec, a mapping or a YAML file; SpecError names the field."""
    return spec_from(ExplainJobSpec, data, source)
