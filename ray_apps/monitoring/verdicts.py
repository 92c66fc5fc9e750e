"""Monitor verdicts already written, read back: what a rollout's guardrail asks of a version,
and what the web console shows of each window.

A monitor run writes ``<root>/model=<m>/version=<v>/window=<key>/summary.json`` with its
``verdict`` (``ray_apps.monitoring.job``); ``violations_since`` lists the violations of the
verdicts decided at or after ``since``, newest last; ``judged_windows`` reads every window
back as the run's own types (``MonitorSummary``, ``Verdict``). ``root``: the monitor's
``output`` or ``$RAYMAKER_HOME/monitor``; a path or an fsspec URI.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

from ray_apps.monitoring.alerts import Verdict
from ray_apps.monitoring.summary import MonitorSummary

SUMMARY, REPORT = "summary.json", "report.html"  # the job writes them (``job._report``)


@dataclass(frozen=True)
class JudgedWindow:
    folder: str  # the window's folder under the root (a path or a URI)
    summary: MonitorSummary
    verdict: Verdict
    has_report: bool  # Evidently's report.html beside the summary

    @property
    def key(self) -> str:
        return self.folder.rstrip("/").rsplit("/", 1)[-1].removeprefix("window=")


def judged_windows(root: str, model: str = "*", version: str = "*") -> list[JudgedWindow]:
    """Every window judged under ``root`` (of ``model`` / ``version`` when given), oldest
    first by the window's start (then its decision). A summary being replaced, or of another
    format, is left out."""
    import fsspec

    fs, base = fsspec.core.url_to_fs(str(root))
    pattern = f"{base.rstrip('/')}/model={model}/version={version}/window=*/{SUMMARY}"
    paths = fs.glob(pattern)
    reports = {p.rsplit("/", 1)[0] for p in fs.glob(pattern[: -len(SUMMARY)] + REPORT)}
    found = []
    for path in paths:
        try:
            with fs.open(path) as f:
                record = json.load(f)
            summary = MonitorSummary.from_dict(record)
            verdict = Verdict.from_dict(record["verdict"])
        except (OSError, ValueError, KeyError, TypeError):
            continue
        folder = path.rsplit("/", 1)[0]
        found.append(JudgedWindow(folder, summary, verdict, folder in reports))
    return sorted(found, key=_when)


def _when(w: JudgedWindow) -> tuple[datetime, datetime]:
    since = w.summary.window.since or w.verdict.decided_at
    return _utc(since), _utc(w.verdict.decided_at)


def _utc(t: datetime) -> datetime:
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def violations_since(root: str, model: str, version: int | str, since: datetime) -> list[str]:
    """One line per violation of ``model:version`` decided at or after ``since`` (UTC)."""
    import fsspec

    fs, base = fsspec.core.url_to_fs(str(root))
    pattern = f"{base.rstrip('/')}/model={model}/version={version}/window=*/summary.json"
    since = since if since.tzinfo else since.replace(tzinfo=UTC)
    found = []
    for path in fs.glob(pattern):
        try:
            with fs.open(path) as f:
                verdict = json.load(f).get("verdict") or {}
            decided = datetime.fromisoformat(verdict["decided_at"])
        except (OSError, ValueError, KeyError):  # a summary being replaced, or not a verdict
            continue
        decided = decided if decided.tzinfo else decided.replace(tzinfo=UTC)
        if verdict.get("status") != "violation" or decided < since:
            continue
        for v in verdict.get("violations", []):
            found.append((decided, f"monitor {decided:%H:%M:%S}: {v.get('message', v)}"))
    return [line for _, line in sorted(found)]
