"""The monitor job spec: which model version, which window of data, what counts as a violation.

    name: cancer-watch
    model: cancer:3                 # a registered version; "cancer" is the newest Approved one
    current:                        # the data to judge: a window of captured traffic ...
      capture: null                 #   capture root (default $RAYMAKER_HOME/capture)
      since: 2026-11-24T10:00:00Z   #   [since, until), UTC when no zone is given
      until: 2026-11-24T11:00:00Z
      # dataset: data/day.parquet   # ... or any CSV/Parquet file or folder with the feature
                                    #   columns (and `prediction`, else the model predicts)
    thresholds:
      drift_alpha: 0.05             # family-wise false-alarm rate of the p-value drift tests
      drift_distance: 0.1           # drift threshold of the distance tests (large references)
      column_drift: true            # any drifted feature column is a violation, named
      drifted_share: 0.5            # a violation when this share of feature columns drifted
      prediction_drift: true        # the prediction column drifted from the baseline's
      missing_share: 0.05           # missing values above the baseline's share + this
      out_of_range_share: 0.05      # share of values outside the training [min, max]
      new_category_share: 0.01      # share of code-column values training never had
      min_rows: 30                  # fewer rows: not judged (exit 4)
      quality_drop: 0.1             # a model-quality metric 10 % worse than the artifact's
      min_labels: 30                # fewer labelled rows: model quality not judged
    labels:                         # ground truth arriving later, joined by request id
      path: labels/                 #   CSV/Parquet with request_id, label (and row)
      label: label                  #   the label column
    alerts:
      webhook: {url_env: RAYMAKER_ALERT_WEBHOOK}   # or url:; secret_env (HMAC-signed POSTs),
                                    #   attempts, backoff_s, timeout_s
      gauge_file: null              # Prometheus textfile; default beside the reports
    on_alert:                       # a violation starts this pipeline (raymaker monitor and
      pipeline: retrain.yaml        #   python -m ray_apps.monitoring), at most one run at a
      parameters: {serving: "${alert.model}"}   # time per key (default: the model's name);
                                    #   ${alert.model|name|version|report} are filled in
    output: null                    # reports root, path or URI (default $RAYMAKER_HOME/monitor)
    html: true                      # write Evidently's HTML report
    workspace: null                 # a local Evidently workspace folder: each window's report
                                    #   is added to it (evidently ui --workspace <folder>)
    report_rows: 50000              # the report (HTML, workspace) shows at most this many window
                                    #   rows, a seeded sample; summary.json and alerts use all
    ray_min_rows: 200000            # windows this large run their drift tests on Ray, columns
                                    #   in parallel (null: always in this process)

Unknown keys are rejected; every error names the field, what it got and what is allowed.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import Field, field_validator, model_validator

from ray_apps.registry.job_model import JobModelSpec
from ray_apps.spec import _Strict, spec_from
from ray_apps.webhook import WebhookSpec


class CurrentData(_Strict):
    """The rows to judge: captured traffic of the version in ``[since, until)``, or a dataset."""

    capture: str | None = Field(None, description="capture root; default $RAYMAKER_HOME/capture")
    dataset: str | None = Field(None, min_length=1, description="CSV/Parquet file or folder")
    since: datetime | None = None
    until: datetime | None = None

    @field_validator("since", "until")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    @model_validator(mode="after")
    def _one_source(self) -> CurrentData:
        if self.capture is not None and self.dataset is not None:
            raise ValueError(
                "capture and dataset both given; judge one: captured traffic "
                "(capture, since, until) or a dataset"
            )
        if self.since and self.until and self.since >= self.until:
            raise ValueError(
                f"since ({self.since.isoformat()}) is not before until "
                f"({self.until.isoformat()}); the window is [since, until)"
            )
        return self


class Thresholds(_Strict):
    """What counts as a violation. Shares are fractions of rows (or of columns) in [0, 1]."""

    drift_alpha: float = Field(0.05, gt=0, lt=1)
    drift_distance: float = Field(0.1, gt=0)
    column_drift: bool = True
    drifted_share: float | None = Field(0.5, gt=0, le=1)
    prediction_drift: bool = True
    missing_share: float | None = Field(0.05, ge=0, le=1)
    out_of_range_share: float | None = Field(0.05, ge=0, le=1)
    new_category_share: float | None = Field(0.01, ge=0, le=1)
    min_rows: int = Field(30, ge=1)
    quality_drop: float | None = Field(0.1, ge=0)
    min_labels: int = Field(30, ge=1)


class LabelsSpec(_Strict):
    """Ground-truth labels that arrive after the predictions, joined to them by request id."""

    path: str = Field(min_length=1, description="CSV/Parquet with request_id, label, [row]")
    label: str = Field("label", min_length=1, description="the label column")


class AlertSpec(_Strict):
    webhook: WebhookSpec | None = None
    gauge_file: str | None = Field(None, description="Prometheus textfile-collector file")


class OnAlertSpec(_Strict):
    """The pipeline a violation starts (the closed loop). Data only: the monitor's command,
    an edge, starts it through ``pipelines.start_once``; ``run_monitor`` itself never does."""

    pipeline: str = Field(min_length=1, description="the pipeline YAML")
    parameters: dict[str, Any] = Field(default_factory=dict)
    key: str | None = Field(
        None, description="one run at a time per key (default: the model's name)"
    )


class MonitorJobSpec(JobModelSpec):
    """One monitor run over one window: data, baseline, thresholds, alerts, outputs."""

    current: CurrentData = CurrentData()
    thresholds: Thresholds = Thresholds()
    alerts: AlertSpec = AlertSpec()
    on_alert: OnAlertSpec | None = None
    labels: LabelsSpec | None = None
    output: str | None = None
    html: bool = True
    workspace: str | None = Field(None, min_length=1, description="local Evidently workspace")
    report_rows: int = Field(50_000, ge=1000, description="window rows the report shows at most")
    ray_min_rows: int | None = Field(200_000, ge=1, description="drift tests on Ray from here")

    @field_validator("workspace")
    @classmethod
    def _local_workspace(cls, folder: str | None) -> str | None:
        if folder is not None and "://" in folder:
            raise ValueError(
                f"{folder!r} is a URI; an Evidently workspace is a local folder (for shared "
                "history, put it on a shared file system)"
            )
        return folder


def parse_monitor_spec(
    data: MonitorJobSpec | dict | str | Path, source: str = "monitor job"
) -> MonitorJobSpec:
    """A validated spec from a spec, a mapping or a YAML file; SpecError names the field."""
    return spec_from(MonitorJobSpec, data, source)
