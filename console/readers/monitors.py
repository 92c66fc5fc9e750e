"""Monitors and the windows they judged, read back as the monitor job's own types
(``ray_apps.monitoring.verdicts.judged_windows``): one monitor per model version under the
reports root, ``<root>/model=<m>/version=<v>/window=<key>/`` (``summary.json``, Evidently's
``report.html``)."""

from __future__ import annotations

from dataclasses import dataclass

from console.readers.files import contained
from ray_apps.errors import NotFoundError
from ray_apps.monitoring.verdicts import REPORT, SUMMARY, JudgedWindow, judged_windows


@dataclass(frozen=True)
class Monitor:
    model: str
    version: str
    windows: list[JudgedWindow]  # oldest first

    @property
    def latest(self) -> JudgedWindow:
        return self.windows[-1]


def list_monitors(root: str) -> list[Monitor]:
    """Every monitor with a judged window under ``root``, the latest decision first."""
    grouped: dict[tuple[str, str], list[JudgedWindow]] = {}
    for w in judged_windows(root):
        grouped.setdefault((w.summary.model, str(w.summary.version)), []).append(w)
    monitors = [Monitor(m, v, ws) for (m, v), ws in grouped.items()]
    return sorted(monitors, key=lambda m: m.latest.verdict.decided_at, reverse=True)


def find_window(root: str, model: str, version: str, window: str) -> JudgedWindow:
    """One judged window, by the names in its URL."""
    contained(root, [("model=", model), ("version=", version), ("window=", window)], SUMMARY)
    for w in judged_windows(root, model, version):
        if w.key == window:
            return w
    raise NotFoundError(f"{model}:{version} has no judged window {window!r} under {root}")


def report_path(root: str, model: str, version: str, window: str) -> str:
    """Where one window's Evidently report is, inside ``root``."""
    parts = [("model=", model), ("version=", version), ("window=", window)]
    return contained(root, parts, REPORT)
