"""A last-good copy of Tune's experiment state, so a driver killed mid-write still resumes.

Tune rewrites ``experiment_state-*.json`` in place; a driver killed during that write leaves
it truncated, and ``Tuner.restore`` then silently starts the whole experiment over (seen
here). This callback copies each state that parses to ``raymaker/experiment_state.json`` by
an atomic rename; ``restore_if_corrupt`` puts it back before a resume. Once both the state and
its copy point past a trial's older checkpoints, those are deleted (``checkpoint_retention``).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from ray.tune import Callback

from tuning.checkpoint_retention import prune, read_state


def _latest_state(run_dir: Path) -> Path | None:
    states = sorted(run_dir.glob("experiment_state-*.json"))
    return states[-1] if states else None


class StateBackup(Callback):
    def __init__(self, run_dir: str):
        self.run_dir = Path(run_dir)
        self._last_mtime = 0.0

    def on_step_end(self, iteration, trials, **info):
        state = _latest_state(self.run_dir)
        if state is None:
            return
        # Taken before reading: a write that lands after the read changes it, so is not missed.
        mtime = state.stat().st_mtime
        if mtime != self._last_mtime and _back_up(state):
            self._last_mtime = mtime


def settle(run_dir: str) -> None:
    """After the run: back up its final state and prune the checkpoints it no longer needs."""
    state = _latest_state(Path(run_dir))
    if state is not None:
        _back_up(state)


def _back_up(state: Path) -> bool:
    """Copy ``state`` to its backup if it parses (read once: Tune may be rewriting it), then prune.

    The backup and the state it was copied from are the same snapshot, so pruning against it
    keeps exactly what that snapshot restores; a later state that is cut off mid-write falls back
    to this backup, whose checkpoints are still there.
    """
    read = read_state(state)
    if read is None:
        return False
    text, data = read
    backup = _backup_of(state)
    backup.parent.mkdir(parents=True, exist_ok=True)
    tmp = backup.with_suffix(".tmp")
    tmp.write_text(text)
    os.replace(tmp, backup)
    prune(state.parent, [data])
    return True


def _backup_of(state: Path) -> Path:
    return state.parent / "raymaker" / f"experiment_state.{state.name}"


def restore_if_corrupt(run_dir: str) -> bool:
    """Replace a truncated experiment state with the last good copy; True if it did."""
    root = Path(run_dir)
    state = _latest_state(root)
    if state is None or read_state(state) is not None:
        return False
    backup = _backup_of(state)
    if not backup.is_file():
        return False
    shutil.copyfile(backup, state)
    return True
