"""What each unit did and what the job did: the arithmetic behind ``summary.json``.

Every row of the input is either written to ``output/`` or to ``rejects/``:
``rows_in == rows_out + rows_rejected`` for each unit and so for the job; a summary that does
not add up is an error, never a file.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

from ray_apps.errors import RaymakerError


@dataclass(frozen=True)
class UnitStats:
    """One committed unit: its rows, rejects by reason, and its first rejected row."""

    index: int
    rows_in: int
    rows_out: int
    rejected: dict[str, int] = field(default_factory=dict)
    first_reject: str | None = None  # "row <id>: <reason>", for strict jobs' errors

    @property
    def rows_rejected(self) -> int:
        return sum(self.rejected.values())

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> UnitStats:
        return cls(**d)


@dataclass(frozen=True)
class Summary:
    """The job's totals, written last as ``summary.json``."""

    rows_in: int
    rows_out: int
    rows_rejected: int
    rejected_by_reason: dict[str, int]
    units: int
    duration_s: float
    model: dict[str, Any]  # name, version, manifest_sha256
    input_fingerprint: str

    def line(self) -> str:
        return f"rows in {self.rows_in} = rows out {self.rows_out} + rejected {self.rows_rejected}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def summarize(
    stats: list[UnitStats], *, duration_s: float, model: dict[str, Any], input_fingerprint: str
) -> Summary:
    """Totals over the units; RaymakerError if any unit's rows do not add up."""
    for s in stats:
        if s.rows_in != s.rows_out + s.rows_rejected:
            raise RaymakerError(
                f"unit {s.index}: {s.rows_in} rows in but {s.rows_out} out + "
                f"{s.rows_rejected} rejected; delete units/ of this run and resume to redo it"
            )
    reasons: Counter[str] = Counter()
    for s in stats:
        reasons.update(s.rejected)
    return Summary(
        rows_in=sum(s.rows_in for s in stats),
        rows_out=sum(s.rows_out for s in stats),
        rows_rejected=sum(reasons.values()),
        rejected_by_reason=dict(sorted(reasons.items())),
        units=len(stats),
        duration_s=round(duration_s, 3),
        model=model,
        input_fingerprint=input_fingerprint,
    )
