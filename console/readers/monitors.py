"""Monitor windows already judged: ``<root>/model=<m>/version=<v>/window=<key>/summary.json``
(``ray_apps.monitoring.job`` writes it last, beside Evidently's ``report.html``)."""

from __future__ import annotations

import json
from dataclasses import dataclass

import fsspec

from console.readers.names import segment

SUMMARY, REPORT = "summary.json", "report.html"


@dataclass(frozen=True)
class MonitorWindow:
    model: str
    version: str
    window: str  # the window's folder key
    rows: int
    status: str  # the verdict: ok | violation | too_few_rows
    decided_at: str
    violations: list[str]
    drifted_columns: list[str]
    drifted_share: float
    has_report: bool


def list_windows(root: str) -> list[MonitorWindow]:
    """Every judged window under ``root``, newest decision first."""
    fs, base = fsspec.core.url_to_fs(root)
    found = []
    for path in fs.glob(f"{base.rstrip('/')}/model=*/version=*/window=*/{SUMMARY}"):
        try:
            with fs.open(path) as f:
                record = json.load(f)
        except (OSError, ValueError):  # being replaced right now
            continue
        folder = path.rsplit("/", 1)[0]
        verdict = record.get("verdict") or {}
        found.append(
            MonitorWindow(
                model=str(record.get("model", "?")),
                version=str(record.get("version", "?")),
                window=folder.rsplit("/", 1)[-1].removeprefix("window="),
                rows=int(record.get("rows", 0)),
                status=verdict.get("status", "?"),
                decided_at=verdict.get("decided_at", ""),
                violations=[v.get("message", str(v)) for v in verdict.get("violations", [])],
                drifted_columns=list(record.get("drifted_columns", [])),
                drifted_share=float(record.get("drifted_share", 0.0)),
                has_report=fs.exists(f"{folder}/{REPORT}"),
            )
        )
    return sorted(found, key=lambda w: w.decided_at, reverse=True)


def report_path(root: str, model: str, version: str, window: str) -> str:
    """Where one window's Evidently report is (each part checked to be a single name)."""
    parts = (
        f"model={segment(model, 'model')}",
        f"version={segment(version, 'version')}",
        f"window={segment(window, 'window')}",
    )
    return "/".join([root.rstrip("/"), *parts, REPORT])
