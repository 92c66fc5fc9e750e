"""Training and tuning runs under the run storage, from each run's own log.

A run is a folder ``<storage>/<run>`` whose run log (``ray_apps.training.run_log.RunLog``) saved
its job: ``spec`` for a training run, ``tune_spec`` for a tuning job. What ``raymaker runs show``
prints, the console shows: state, attempts, per-epoch metrics, the health rules that fired, the
health report; for a tuning job its leaderboard and plot (``tuning.leaderboard``, imported when
a tuning job is shown: it brings Ray Tune).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import fsspec

from console.readers.names import segment
from ray_apps.errors import NotFoundError
from ray_apps.training.run_log import RunLog

ARTIFACT = "artifact"  # the packaged model inside a finished run's folder


@dataclass(frozen=True)
class RunSummary:
    name: str
    kind: str  # "training" | "tuning"
    state: str  # "finished" | "unfinished" | "stopped_by_rule"
    started: float | None
    attempts: int
    fired: list[str]  # rules that fired, in order
    has_health_report: bool


@dataclass(frozen=True)
class RunDetail:
    summary: RunSummary
    run_dir: str
    job: dict[str, Any]
    history: list[dict[str, Any]]
    findings: list[dict[str, Any]]
    rules: list[str]  # the health rules the job configured
    stopped: dict[str, Any] | None
    health_report: str | None
    leaderboard: list[dict[str, Any]] = field(default_factory=list)
    plot: str | None = None


def list_runs(root: str) -> list[RunSummary]:
    """Every run under ``root``, newest first."""
    fs, base = fsspec.core.url_to_fs(root)
    if not fs.exists(base):
        return []
    found = []
    for entry in fs.ls(base, detail=True):
        if entry["type"] != "directory":
            continue
        name = entry["name"].rstrip("/").rsplit("/", 1)[-1]
        run_dir = f"{root.rstrip('/')}/{name}"
        log = RunLog(run_dir)
        job = log.job()
        if job and ("spec" in job or "tune_spec" in job):
            found.append(_summary(name, run_dir, log, job))
    return sorted(found, key=lambda r: (r.started or 0, r.name), reverse=True)


def load_run(root: str, name: str) -> RunDetail:
    run_dir = f"{root.rstrip('/')}/{segment(name, 'run')}"
    log = RunLog(run_dir)
    job = log.job()
    if not job or not ("spec" in job or "tune_spec" in job):
        raise NotFoundError(f"no run {name!r} under {root}; the runs page lists those there are")
    summary = _summary(name, run_dir, log, job)
    detail = RunDetail(
        summary=summary,
        run_dir=run_dir,
        job=job,
        history=log.history(),
        findings=log.health_findings(),
        rules=_rules(job.get("spec") or job.get("tune_spec", {}).get("train") or {}),
        stopped=log.state(),
        health_report=log.health_report(),
    )
    if summary.kind == "tuning":
        from tuning import leaderboard

        plot = f"{run_dir}/{leaderboard.PLOT_PNG}"
        detail = replace(
            detail,
            leaderboard=leaderboard.load(run_dir) or [],
            plot=plot if _exists(plot) else None,
        )
    return detail


def _summary(name: str, run_dir: str, log: RunLog, job: dict[str, Any]) -> RunSummary:
    attempts = log.attempts()
    state = (log.state() or {}).get("state")
    if not state:
        state = "finished" if _exists(f"{run_dir}/{ARTIFACT}") else "unfinished"
    return RunSummary(
        name=name,
        kind="tuning" if "tune_spec" in job else "training",
        state=state,
        started=attempts[0].get("time") if attempts else None,
        attempts=len(attempts),
        fired=[f.get("rule", "?") for f in log.health_findings()],
        has_health_report=log.health_report() is not None,
    )


def _rules(spec: dict[str, Any]) -> list[str]:
    rules = (spec.get("health") or {}).get("rules") or []
    return [r.get("name", "?") if isinstance(r, dict) else str(r) for r in rules]


def _exists(path: str) -> bool:
    fs, local = fsspec.core.url_to_fs(path)
    return fs.exists(local)
