"""Tune's saved experiment state as a test reads it while a tuning driver runs elsewhere."""

from __future__ import annotations

import json
from pathlib import Path
from typing import NamedTuple


class TrialState(NamedTuple):
    status: str
    last_result: dict
    failures: int


def saved_trials(run_dir: Path) -> dict[str, TrialState]:
    """Trial id -> its state in the newest ``experiment_state-*.json`` (empty if none yet)."""
    states = sorted(run_dir.glob("experiment_state-*.json"))
    if not states:
        return {}
    try:
        data = json.loads(states[-1].read_text())
    except json.JSONDecodeError:  # caught mid-write
        return {}
    out = {}
    for trial_json, runtime in data["trial_data"]:
        trial = json.loads(trial_json)
        runtime = json.loads(runtime) if isinstance(runtime, str) else runtime
        out[trial["trial_id"]] = TrialState(
            trial["status"], runtime["last_result"], runtime.get("num_failures", 0)
        )
    return out
