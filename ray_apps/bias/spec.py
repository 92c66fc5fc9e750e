"""The bias job spec: which model version, which rows, which sensitive column and outcome.

    name: cancer-bias
    model: cancer:3                 # a registered version; "cancer" is the newest Approved one
    artifact: null                  # or an artifact folder (then model names its version)
    data:                           # the rows: a dataset ...
      dataset: data/test.parquet    #   CSV/Parquet with the features, the label, the sensitive
                                    #   column (and `prediction`, else the model predicts)
      # capture: null               # ... or captured traffic of the version in [since, until)
      # since: 2026-11-24T00:00Z
      # until: 2026-11-25T00:00Z
    label: target                   # the label column of the dataset; default the model's label
    labels: null                    # late labels joined by request id: {path: labels.csv}
    sensitive: sex                  # the column whose groups are compared
    positive_label: 1               # the favourable class; default the second of two classes
    bins: null                      # numeric sensitive column: edges, e.g. [30, 50]
    max_groups: 20                  # more distinct values than this: bins are required
    output: null                    # reports root, path or URI (default $RAYMAKER_HOME/bias)
    html: true                      # also write bias.html (a table)

Unknown keys are rejected; every error names the field, what it got and what is allowed.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, StrictBool, StrictFloat, StrictInt, field_validator, model_validator

from ray_apps.monitoring.spec import CurrentData, LabelsSpec
from ray_apps.registry.job_model import JobModelSpec
from ray_apps.spec import spec_from


class BiasJobSpec(JobModelSpec):
    """One bias run: Clarify's pre- and post-training metrics per group of ``sensitive``."""

    data: CurrentData = CurrentData()
    label: str | None = Field(None, min_length=1, description="label column of the dataset")
    labels: LabelsSpec | None = None
    sensitive: str = Field(min_length=1, description="the sensitive column")
    positive_label: StrictBool | StrictInt | StrictFloat | str | None = None
    bins: list[float] | None = Field(None, min_length=1)
    max_groups: int = Field(20, ge=2, le=1000)
    output: str | None = None
    html: bool = True

    @field_validator("bins")
    @classmethod
    def _increasing(cls, edges: list[float] | None) -> list[float] | None:
        if edges is not None and any(b <= a for a, b in zip(edges, edges[1:], strict=False)):
            raise ValueError("bin edges must be strictly increasing, e.g. [30, 50]")
        return edges

    @model_validator(mode="after")
    def _consistent(self) -> BiasJobSpec:
        if self.data.dataset is None and self.label is not None:
            raise ValueError(
                "label names a dataset column, and data is captured traffic; give the labels "
                "of captured requests as labels: {path: …} (joined by request id)"
            )
        return self


def parse_bias_spec(data: BiasJobSpec | dict | str | Path, source: str = "bias job") -> BiasJobSpec:
    """A validated spec from a spec, a mapping or a YAML file; SpecError names the field."""
    return spec_from(BiasJobSpec, data, source)
