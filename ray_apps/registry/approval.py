"""The approval state machine of a model version, as pure functions.

    Pending ──approve──► Approved
       │                   │  ▲
       └──reject──► Rejected ◄┘ (reject revokes an approval; approve reverses a rejection)

Every transition records who, when and why. MLflow OSS has no approval workflow, so the
registry stores the result as model-version tags; this module only decides.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Literal

from ray_apps.errors import ApprovalError, SpecError

Status = Literal["Pending", "Approved", "Rejected"]
STATUSES: tuple[Status, ...] = ("Pending", "Approved", "Rejected")
_TARGET: dict[str, Status] = {"approve": "Approved", "reject": "Rejected"}
_ALLOWED: dict[Status, tuple[Status, ...]] = {
    "Pending": ("Approved", "Rejected"),
    "Approved": ("Rejected",),
    "Rejected": ("Approved",),
}


@dataclass(frozen=True)
class Decision:
    """One approval decision: the new status, who took it, when (UTC ISO-8601) and why."""

    status: Status
    by: str
    at: str
    reason: str = ""

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


def transition(
    current: Status, action: str, *, by: str, reason: str = "", now: datetime | None = None
) -> Decision:
    """The decision ``action`` ("approve" | "reject") takes from ``current``, or an error."""
    if action not in _TARGET:
        raise SpecError(f"approval action {action!r} is unknown; use one of {sorted(_TARGET)}")
    if not by.strip():
        raise SpecError("an approval decision needs who took it: pass by=<name>")
    target = _TARGET[action]
    if target not in _ALLOWED[current]:
        raise ApprovalError(
            f"the version is already {current}; {action} moves a version from "
            f"{' or '.join(s for s in STATUSES if target in _ALLOWED[s])} only"
        )
    stamp = (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return Decision(status=target, by=by.strip(), at=stamp, reason=reason)


def history_append(history_json: str | None, decision: Decision) -> str:
    """The history tag after ``decision``: a JSON list, oldest first."""
    history = json.loads(history_json) if history_json else []
    history.append(decision.to_dict())
    return json.dumps(history)


def deployable(status: str, *, force: bool = False) -> bool:
    """Only Approved versions deploy, unless the user forces it explicitly."""
    return force or status == "Approved"
