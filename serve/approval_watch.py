"""Notice when a version an endpoint serves stops being Approved in the registry.

Approval is checked at deploy; someone may reject (revoke) the version later while replicas
serve it. Each replica re-reads the registry status of what it serves every
``registry_check_interval_s`` from Serve's health check (off the request path), updates the
status its model metadata reports, logs one WARNING per change and sets the gauge
``raymaker_served_version_approved``. It keeps serving: withdrawing a model from callers is an
operator's decision (roll out an Approved version, or undeploy), and a replica that stopped
answering on its own would turn a registry edit into an outage nobody chose.

The decisions are pure functions of the clock and the statuses, tested with numbers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


def check_due(last_checked: float | None, now: float, interval_s: float) -> bool:
    """Whether a re-check is due: never checked, or ``interval_s`` passed since the last."""
    return last_checked is None or now - last_checked >= interval_s


def status_changes(known: Mapping[str, str], read: Mapping[str, str]) -> dict[str, str]:
    """The models whose status ``read`` from the registry differs from the ``known`` one."""
    return {name: status for name, status in read.items() if known.get(name) != status}


@dataclass(frozen=True)
class Change:
    model: str
    version: int
    was: str
    now: str

    @property
    def approved(self) -> bool:
        return self.now == "Approved"

    def message(self, endpoint: str) -> str:
        if self.approved:
            return f"{self.model}:{self.version} served by {endpoint} is Approved again"
        return (
            f"{self.model}:{self.version} served by endpoint {endpoint} is now {self.now} in the "
            f"registry (was {self.was}); it keeps serving until you roll out an Approved "
            f"version (raymaker deploy {self.model}:<version> --name {endpoint}) or undeploy it"
        )


def changes(
    versions: Mapping[str, int], known: Mapping[str, str], read: Mapping[str, str]
) -> list[Change]:
    """One ``Change`` per served model whose registry status moved."""
    moved = status_changes(known, read)
    return [Change(n, versions[n], known.get(n, "?"), s) for n, s in sorted(moved.items())]
