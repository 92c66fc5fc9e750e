"""An in-memory training Session: runs a worker loop in-process, with no Ray at all.

It hands the loop whole frames, keeps every checkpoint it is asked to write in a folder of its
own, and restores from the newest of them when asked: what a Ray Train worker group does across
a restart, minus the cluster.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd


class FolderCheckpoint:
    """What a loop needs of a ``ray.train.Checkpoint``: ``as_directory()``."""

    def __init__(self, path: Path):
        self.path = path

    @contextmanager
    def as_directory(self):
        yield str(self.path)


class MemorySession:
    rank = 0
    world_size = 1
    batch_factor = 1

    def __init__(self, frames: dict[str, pd.DataFrame], folder: Path, resume: bool = False):
        self.frames = frames
        self.folder = folder
        self.resume = resume
        self.reports: list[tuple[int, dict[str, Any]]] = []
        self.checkpoints: list[Path] = []
        self.start_epoch: int | None = None

    def frame(self, name: str) -> pd.DataFrame:
        return self.frames[name]

    def restore(self) -> FolderCheckpoint | None:
        saved = sorted(self.folder.glob("checkpoint_*"))
        return FolderCheckpoint(saved[-1]) if self.resume and saved else None

    def started(self, start_epoch: int) -> None:
        self.start_epoch = start_epoch

    def ended(self) -> None:
        pass

    def begin_epoch(self, epoch: int) -> None:
        pass

    def report(self, metrics: dict[str, Any], epoch: int, save: Callable[[str], None] | None):
        self.reports.append((epoch, dict(metrics)))
        if save is not None:
            path = self.folder / f"checkpoint_{epoch:06d}"
            path.mkdir(parents=True)
            save(str(path))
            self.checkpoints.append(path)

    def prepare_model(self, model):
        return model

    def device(self):
        import torch

        return torch.device("cpu")
