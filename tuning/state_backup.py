"""A last-good copy of Tune's experiment state, so a driver killed mid-write still resumes.

Tune rewrites ``experiment_state-*.json`` in place; a driver killed during that write leaves
it truncated, and ``Tuner.restore`` then silently starts the whole experiment over (seen
here). This callback copies each state that parses to ``raymaker/experiment_state.json`` by
an atomic rename; ``restore_if_corrupt`` puts it back before a resume. Once both the state and
its copy point past a trial's older checkpoints, those are deleted (``checkpoint_retention``).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from ray.tune import Callback

from tuning.checkpoint_retention import prune


def _latest_state(run_dir: Path) -> Path | None:
    states = sorted(run_dir.glob("experiment_state-*.json"))
    return states[-1] if states else None


def _parses(path: Path) -> bool:
    try:
        json.loads(path.read_text())
        return True
    except (OSError, ValueError):
        return False


class StateBackup(Callback):
    def __init__(self, run_dir: str):
        self.run_dir = Path(run_dir)
        self._last_mtime = 0.0

    def on_step_end(self, iteration, trials, **info):
        state = _latest_state(self.run_dir)
        if state is None or state.stat().st_mtime == self._last_mtime or not _parses(state):
            return
        self._last_mtime = state.stat().st_mtime
        tmp = _backup_of(state).with_suffix(".tmp")
        shutil.copyfile(state, tmp)
        os.replace(tmp, _backup_of(state))
        prune_checkpoints(str(self.run_dir))


def settle(run_dir: str) -> None:
    """After the run: back up its final state and prune the checkpoints it no longer needs."""
    state = _latest_state(Path(run_dir))
    if state is None or not _parses(state):
        return
    shutil.copyfile(state, _backup_of(state).with_suffix(".tmp"))
    os.replace(_backup_of(state).with_suffix(".tmp"), _backup_of(state))
    prune_checkpoints(run_dir)


def _backup_of(state: Path) -> Path:
    return state.parent / "raymaker" / f"experiment_state.{state.name}"


def prune_checkpoints(run_dir: str) -> None:
    """Delete the trial checkpoints that neither the state nor its last good copy restores."""
    state = _latest_state(Path(run_dir))
    if state is None or not _parses(state) or not _backup_of(state).is_file():
        return
    prune(Path(run_dir), [state, _backup_of(state)])


def restore_if_corrupt(run_dir: str) -> bool:
    """Replace a truncated experiment state with the last good copy; True if it did."""
    root = Path(run_dir)
    state = _latest_state(root)
    if state is None or _parses(state):
        return False
    backup = _backup_of(state)
    if not backup.is_file():
        return False
    shutil.copyfile(backup, state)
    return True
