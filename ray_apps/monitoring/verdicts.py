"""Monitor verdicts already written, read back: what a rollout's guardrail asks of a version.

A monitor run writes ``<root>/model=<m>/version=<v>/window=<key>/summary.json`` with its
``verdict`` (``ray_apps.monitoring.job``); ``violations_since`` lists the violations of the
verdicts decided at or after ``since``, newest last. ``root``: the monitor's ``output`` or
``$RAYMAKER_HOME/monitor``; a path or an fsspec URI.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime


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
