"""Trial checkpoint retention that never deletes a checkpoint a saved experiment state needs.

Tune deletes a trial's older checkpoints the moment it registers a newer one, but writes its
experiment state only every ``TUNE_GLOBAL_CHECKPOINT_S``. A driver killed in between leaves a
state that points at a deleted checkpoint, and the resumed trial then fails on it (seen in CI:
a trial restored that way ended with an error at round 100 of 1000). So Tune keeps every
checkpoint of a local run (``num_to_keep=None``) and ``prune`` deletes a trial's older ones only
once every state a resume could read — the state file and its backup — points past them.

Tune copies its state into the run folder in place, so a reader can catch it empty or half
written: callers parse each file once (``read_state``) and prune nothing when one does not parse.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

_CHECKPOINT = re.compile(r"checkpoint_(\d{6})")
_HEX = re.compile(r"[0-9a-f]+")


def _indices(value) -> set[int]:
    """Checkpoint indices named anywhere in ``value`` (Tune pickles its manager as hex)."""
    if isinstance(value, dict):
        return set().union(*map(_indices, value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*map(_indices, value)) if value else set()
    if not isinstance(value, str):
        return set()
    found = {int(m) for m in _CHECKPOINT.findall(value)}
    if len(value) % 2 == 0 and _HEX.fullmatch(value):
        text = bytes.fromhex(value).decode("latin-1")
        found |= {int(m) for m in _CHECKPOINT.findall(text)}
    return found


def read_state(path: Path) -> tuple[str, dict] | None:
    """An experiment state's text and what it parses to; None while missing or partial."""
    try:
        text = path.read_text()
        return text, json.loads(text)
    except (OSError, ValueError):
        return None


def referenced(data: dict) -> dict[str, int | None]:
    """Trial folder -> the newest checkpoint index a parsed state restores it from (None: none)."""
    out: dict[str, int | None] = {}
    for trial_json, runtime in data["trial_data"]:
        trial = json.loads(trial_json)
        runtime = json.loads(runtime) if isinstance(runtime, str) else runtime
        found = _indices(runtime.get("checkpoint_manager"))
        out[trial["relative_logdir"]] = max(found) if found else None
    return out


def prune(run_dir: Path, states: list[dict]) -> list[Path]:
    """Delete each trial's checkpoints older than the one every parsed state in ``states`` restores.

    A trial that some state would restore without a checkpoint (or does not list) keeps all of
    its checkpoints. Returns the deleted folders.
    """
    per_state = [referenced(s) for s in states]
    trials = set().union(*per_state) if per_state else set()
    deleted = []
    for trial in trials:
        refs = [refs.get(trial) for refs in per_state]
        if any(ref is None for ref in refs):
            continue
        floor = min(refs)
        for folder in (run_dir / trial).glob("checkpoint_*"):
            match = _CHECKPOINT.fullmatch(folder.name)
            if match and int(match.group(1)) < floor:
                shutil.rmtree(folder, ignore_errors=True)
                deleted.append(folder)
    return deleted
