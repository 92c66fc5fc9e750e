"""What one monitor run found, as a small typed record and its JSON (``summary.json``).

The summary holds observations only (drift per column, data quality per column, row counts);
whether they break a threshold is decided from it by ``ray_apps.monitoring.alerts.decide``,
so a stored summary can be judged again under other thresholds.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from ray_apps.monitoring._evidently import ColumnDrift
from ray_apps.monitoring.labels import ModelQuality
from ray_apps.monitoring.quality import ColumnQuality

FORMAT_VERSION = 1


@dataclass(frozen=True)
class Window:
    """The data judged: captured traffic of the version in ``[since, until)``, or a dataset."""

    source: str  # "capture" | "dataset"
    location: str  # the capture root or the dataset path
    since: datetime | None
    until: datetime | None

    @property
    def key(self) -> str:
        """The window's folder name under the version: ``<since>--<until>`` (UTC, compact),
        then for a dataset its file name and a hash of its location, so two datasets judged
        over the same times do not share a folder."""
        stamp = lambda t, none: t.strftime("%Y%m%dT%H%M%SZ") if t else none  # noqa: E731
        key = f"{stamp(self.since, 'start')}--{stamp(self.until, 'end')}"
        if self.source == "dataset":
            name = re.sub(r"[^A-Za-z0-9_.-]", "_", self.location.rstrip("/").rsplit("/", 1)[-1])
            digest = hashlib.sha256(self.location.encode()).hexdigest()[:8]
            key += f"--{name}-{digest}"
        return key


@dataclass(frozen=True)
class MonitorSummary:
    """Drift and data quality of one window of one model version against its baseline."""

    model: str
    version: str
    window: Window
    rows: int  # rows judged (answered requests only)
    failed_rows: int  # captured rows of failed requests, not judged
    reference_rows: int
    reference_source: str  # "training data" | "baseline sample": where the ranges came from
    p_value_threshold: float  # drift_alpha split over the tests (Bonferroni)
    columns: list[ColumnDrift] = field(default_factory=list)  # feature columns, feature order
    prediction: ColumnDrift | None = None
    prediction_source: str = "none"  # "captured" | "computed" (the model predicted the rows)
    quality: list[ColumnQuality] = field(default_factory=list)
    model_quality: ModelQuality | None = None  # when labels were given

    @property
    def drifted_columns(self) -> list[str]:
        return [c.column for c in self.columns if c.drifted]

    @property
    def drifted_share(self) -> float:
        tested = [c for c in self.columns if c.method != "none"]
        return len([c for c in tested if c.drifted]) / len(tested) if tested else 0.0

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["format_version"] = FORMAT_VERSION
        d["window"]["key"] = self.window.key
        d["drifted_columns"] = self.drifted_columns
        d["drifted_share"] = self.drifted_share
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> MonitorSummary:
        w = d["window"]
        when = lambda v: datetime.fromisoformat(v) if isinstance(v, str) else v  # noqa: E731
        pred = d.get("prediction")
        return cls(
            model=d["model"],
            version=d["version"],
            window=Window(w["source"], w["location"], when(w["since"]), when(w["until"])),
            rows=d["rows"],
            failed_rows=d["failed_rows"],
            reference_rows=d["reference_rows"],
            reference_source=d["reference_source"],
            p_value_threshold=d["p_value_threshold"],
            columns=[ColumnDrift(**c) for c in d["columns"]],
            prediction=ColumnDrift(**pred) if pred else None,
            prediction_source=d.get("prediction_source", "none"),
            quality=[ColumnQuality(**q) for q in d["quality"]],
            model_quality=ModelQuality(**d["model_quality"]) if d.get("model_quality") else None,
        )
