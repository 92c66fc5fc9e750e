"""A version's evaluation gate verdict: the newest ``report.json`` the evaluation job wrote for
it, ``<root>/model=<m>/version=<v>/<UTC time>/`` (``ray_apps.evaluation.job.write_report``)."""

from __future__ import annotations

import json
from dataclasses import dataclass

import fsspec

from console.readers.names import segment


@dataclass(frozen=True)
class Gate:
    passed: bool
    reasons: list[str]
    folder: str  # the report's folder
    has_html: bool


def gate_of(root: str, model: str, version: int) -> Gate | None:
    """The newest evaluation's gate for ``model:version``; None if it was never evaluated."""
    fs, base = fsspec.core.url_to_fs(root)
    folder = f"{base.rstrip('/')}/model={segment(model, 'model')}/version={int(version)}"
    reports = sorted(fs.glob(f"{folder}/*/report.json"))
    for path in reversed(reports):  # folder names are UTC times: the newest last
        try:
            with fs.open(path) as f:
                gate = json.load(f).get("gate") or {}
        except (OSError, ValueError):
            continue
        where = path.rsplit("/", 1)[0]
        return Gate(
            passed=bool(gate.get("passed")),
            reasons=list(gate.get("reasons", [])),
            folder=where,
            has_html=fs.exists(f"{where}/report.html"),
        )
    return None
