"""A last-good copy of Tune's experiment state, so a driver killed mid-write still resumes.

Tune rewrites ``experiment_state-*.json`` in place; a driver killed during that write leaves
it truncated, and ``Tuner.restore`` then silently starts the whole experiment over (seen
here). This callback copies each state that parses to ``raymaker/experiment_state.json`` by
an atomic rename; ``restore_if_corrupt`` puts it back before a resume.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from ray.tune import Callback

_BACKUP = "raymaker/experiment_state.json"


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
        backup = self.run_dir / _BACKUP
        tmp = backup.with_suffix(f".{state.name}.tmp")
        shutil.copyfile(state, tmp)
        os.replace(tmp, backup.with_name(f"{backup.stem}.{state.name}"))


def restore_if_corrupt(run_dir: str) -> bool:
    """Replace a truncated experiment state with the last good copy; True if it did."""
    root = Path(run_dir)
    state = _latest_state(root)
    if state is None or _parses(state):
        return False
    backup = root / "raymaker" / f"experiment_state.{state.name}"
    if not backup.is_file():
        return False
    shutil.copyfile(backup, state)
    return True
