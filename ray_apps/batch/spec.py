"""The batch transform job spec (SageMaker Batch Transform on Ray Data).

    name: iris-scores
    model: iris            # newest Approved version; "iris:3" names one
    force: false           # true runs a version that is not Approved (explicitly)
    input: data/day/       # a CSV/Parquet file, a folder of them, or a glob; path or URI
    output: null           # run storage (default: $RAYMAKER_STORAGE, like training)
    id_column: null        # a column naming each row; else source_file + source_row
    keep: all              # all input columns beside the prediction, or only the id
    batch_size: 4096       # rows per model call (and per streamed batch)
    rows_per_unit: 100000  # Parquet row groups are grouped into units of about this many rows
    concurrency: null      # scoring actors; default sized to the cluster's CPUs
    num_gpus_per_actor: 0
    strict: false          # fail on the first rejected row instead of writing rejects/

Unknown keys are rejected; every error names the field, what it got and what is allowed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator

from ray_apps.registry import parse_ref
from ray_apps.spec import _Strict, spec_from


class BatchFault(_Strict):
    """Kill the scoring worker once, while it commits unit ``at_unit`` (tests restarts)."""

    at_unit: int = Field(ge=0)
    mode: Literal["kill"] = "kill"


class BatchJobSpec(_Strict):
    """One batch transform job: which model scores which input into which output."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
    model: str
    force: bool = False
    input: str = Field(min_length=1)
    output: str | None = None
    id_column: str | None = None
    keep: Literal["all", "id"] = "all"
    batch_size: int = Field(default=4096, ge=1, le=1_000_000)
    rows_per_unit: int = Field(default=100_000, ge=1)
    concurrency: int | None = Field(default=None, ge=1)
    num_gpus_per_actor: float = Field(default=0, ge=0)
    strict: bool = False
    inject: BatchFault | None = None

    @field_validator("model")
    @classmethod
    def _model_ref(cls, ref: str) -> str:
        parse_ref(ref)  # SpecError naming the bad name or version
        return ref


def parse_batch_spec(
    data: BatchJobSpec | dict | str | Path, source: str = "batch job"
) -> BatchJobSpec:
    """A validated spec from a spec, a mapping or a YAML file; SpecError names the field."""
    return spec_from(BatchJobSpec, data, source)
