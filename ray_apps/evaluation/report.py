"""What one evaluation found, as a typed record and its JSON (``report.json``).

The report holds observations only; whether they pass is decided from it by
``ray_apps.evaluation.gate.gate``, so a stored report can be judged again under other
thresholds.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from ray_apps.evaluation.calibration import Calibration
from ray_apps.evaluation.directional import Directional
from ray_apps.evaluation.invariance import Invariance
from ray_apps.evaluation.robustness import Robustness
from ray_apps.evaluation.slices import SliceMetrics

FORMAT_VERSION = 1


@dataclass(frozen=True)
class EvaluationReport:
    model: str  # "name:version", or the artifact's location when not registered
    task: str
    data: str  # the test rows' source
    rows: int
    metric: str  # the one slices and robustness rank by
    overall: dict[str, float]
    slices: list[SliceMetrics] = field(default_factory=list)
    calibration: Calibration | None = None  # binary classifiers
    robustness: Robustness | None = None
    invariance: list[Invariance] = field(default_factory=list)
    directional: list[Directional] = field(default_factory=list)

    @property
    def worst_slices(self) -> list[SliceMetrics]:
        return [s for s in self.slices if s.ranked]

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["format_version"] = FORMAT_VERSION
        if self.robustness is not None:
            d["robustness"]["worst_drop"] = self.robustness.worst_drop
        return d
