"""The evaluation job spec: which model, which test rows, which tests, what fails the gate.

    model: cancer:3                 # a registered version ("cancer": the newest Approved) ...
    # artifact: runs/x/artifact     # ... or an artifact folder (then model is optional)
    data:
      source: data/test.parquet     # CSV/Parquet with the features and the label: every row
      label: null                   #   the label column; default the model's
      # source: sklearn:breast_cancer   a bundled name: its test split (split: as trained)
    metric: null                    # the metric slices and robustness use; default accuracy
                                    #   (classification) or rmse (regression)
    slices:
      columns: [mean_radius]        # categorical: one slice per value; numeric: quantile bins
      bins: 4
      min_size: 20                  # smaller slices are counted, not ranked
    calibration_bins: 10            # binary classification only
    robustness: {noise: [0.1, 0.5], seed: 0}   # Gaussian noise, in units of each feature's std
    invariance:                     # changing these must not change predictions
      - {feature: id_code, shuffle: true}
      - {feature: region, values: [0, 1, 2]}
    directional:                    # raising feature by delta must not lower the score
      - {feature: worst_area, delta: 100, direction: increasing}
    thresholds:
      min: {accuracy: 0.9}          # overall metrics
      max: {log_loss: 0.5}
      min_slice: {accuracy: 0.7}    # the worst ranked slice's metric
      max_calibration_error: 0.1    # expected calibration error (binary)
      max_invariance_change_rate: 0.01
      max_direction_violation_rate: 0.05
      max_robustness_drop: 0.05     # the metric's worsening at any noise level
    output: null                    # reports root, path or URI ($RAYMAKER_HOME/evaluation)
    html: true

Unknown keys are rejected; every error names the field, what it got and what is allowed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from ray_apps.registry import parse_ref
from ray_apps.spec import SplitSpec, _Strict, spec_from

MetricName = Literal["accuracy", "f1", "log_loss", "roc_auc", "brier", "rmse", "mae", "r2"]


class DataSpec(_Strict):
    """The test rows: a file's rows, or a bundled dataset's test split."""

    source: str = Field(min_length=1, description="CSV/Parquet path or URI, or sklearn:<name>")
    label: str | None = Field(None, min_length=1, description="default: the model's label")
    split: SplitSpec | None = Field(
        None, description="bundled sources: the split whose test part is used; default as trained"
    )


class SliceSpec(_Strict):
    columns: list[str] = Field(default_factory=list)
    bins: int = Field(4, ge=2, le=100, description="quantile bins of a numeric column")
    min_size: int = Field(20, ge=1, description="slices with fewer rows are not ranked")
    max_categories: int = Field(
        10, ge=1, description="a numeric column with this many values or fewer is categorical"
    )


class RobustnessSpec(_Strict):
    noise: list[float] = Field(default_factory=lambda: [0.1], description="noise std, in stds")
    seed: int = 0
    features: list[str] | None = Field(None, description="default: every numeric feature")

    @field_validator("noise")
    @classmethod
    def _positive(cls, levels: list[float]) -> list[float]:
        if not all(x > 0 for x in levels):
            raise ValueError("noise levels must be > 0 (in feature stds)")
        return levels


class InvarianceSpec(_Strict):
    feature: str = Field(min_length=1)
    values: list[float | str] | None = Field(None, min_length=1)
    shuffle: bool = False
    seed: int = 0
    tolerance: float = Field(1e-9, ge=0, description="regression: a change larger than this")

    @model_validator(mode="after")
    def _one_change(self) -> InvarianceSpec:
        if (self.values is None) == (not self.shuffle):
            raise ValueError(
                f"invariance of {self.feature!r}: give exactly one of values: [..] (set the "
                "feature to each) or shuffle: true (permute it across rows)"
            )
        return self


class DirectionalSpec(_Strict):
    feature: str = Field(min_length=1)
    delta: float = Field(gt=0, description="added to the feature")
    direction: Literal["increasing", "decreasing"] = Field(
        "increasing", description="increasing: raising the feature must not lower the score"
    )
    target_class: str | int | None = Field(
        None, description="multi-class: whose probability is the score; binary: the second class"
    )
    tolerance: float = Field(1e-9, ge=0)


class GateThresholds(_Strict):
    """What fails the gate; unset thresholds are not checked."""

    min: dict[MetricName, float] = Field(default_factory=dict)
    max: dict[MetricName, float] = Field(default_factory=dict)
    min_slice: dict[MetricName, float] = Field(default_factory=dict)
    max_calibration_error: float | None = Field(None, ge=0, le=1)
    max_invariance_change_rate: float | None = Field(None, ge=0, le=1)
    max_direction_violation_rate: float | None = Field(None, ge=0, le=1)
    max_robustness_drop: float | None = Field(None, ge=0)


class EvaluationSpec(_Strict):
    name: str | None = Field(None, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
    model: str | None = None
    artifact: str | None = Field(None, min_length=1, description="an artifact folder or URI")
    tracking_uri: str | None = None
    data: DataSpec
    metric: MetricName | None = None
    slices: SliceSpec = SliceSpec()
    calibration_bins: int = Field(10, ge=2, le=100)
    robustness: RobustnessSpec | None = RobustnessSpec()
    invariance: list[InvarianceSpec] = Field(default_factory=list)
    directional: list[DirectionalSpec] = Field(default_factory=list)
    thresholds: GateThresholds = GateThresholds()
    output: str | None = None
    html: bool = True

    @field_validator("model")
    @classmethod
    def _model_ref(cls, ref: str | None) -> str | None:
        if ref is not None:
            parse_ref(ref)  # SpecError naming the bad name or version
        return ref

    @model_validator(mode="after")
    def _what_to_evaluate(self) -> EvaluationSpec:
        if self.model is None and self.artifact is None:
            raise ValueError(
                "name what to evaluate: model: <name:version> (registered) or artifact: <folder>"
            )
        return self


def parse_evaluation_spec(
    data: EvaluationSpec | dict | str | Path, source: str = "evaluation job"
) -> EvaluationSpec:
    """A validated spec from a spec, a mapping or a YAML file; SpecError names the field."""
    return spec_from(EvaluationSpec, data, source)
