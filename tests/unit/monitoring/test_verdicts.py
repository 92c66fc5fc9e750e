"""Monitor verdicts read back for a rollout's guardrail: violations of one version, since a time."""

import json
from datetime import UTC, datetime, timedelta

from ray_apps.monitoring.verdicts import violations_since

T0 = datetime(2026, 12, 2, 12, tzinfo=UTC)


def _summary(root, version, window, status, at, messages=()):
    folder = root / "model=fair" / f"version={version}" / f"window={window}"
    folder.mkdir(parents=True)
    verdict = {
        "status": status,
        "decided_at": at.isoformat(),
        "violations": [{"kind": "column_drift", "message": m} for m in messages],
    }
    (folder / "summary.json").write_text(json.dumps({"rows": 500, "verdict": verdict}))


def test_only_violations_of_the_version_decided_since_count(tmp_path):
    _summary(tmp_path, 5, "a", "violation", T0 - timedelta(minutes=1), ["old drift"])
    _summary(tmp_path, 5, "b", "ok", T0 + timedelta(minutes=1))
    _summary(tmp_path, 5, "c", "violation", T0 + timedelta(minutes=3), ["age drifted", "nulls"])
    _summary(tmp_path, 5, "d", "violation", T0 + timedelta(minutes=2), ["income drifted"])
    _summary(tmp_path, 4, "e", "violation", T0 + timedelta(minutes=2), ["the stable's"])
    (tmp_path / "model=fair" / "version=5" / "window=f").mkdir()  # being written: no summary
    found = violations_since(str(tmp_path), "fair", 5, T0)
    assert [line.split(": ", 1)[1] for line in found] == ["income drifted", "age drifted", "nulls"]
    assert violations_since(str(tmp_path), "fair", 6, T0) == []
    assert violations_since(str(tmp_path / "none"), "fair", 5, T0) == []
