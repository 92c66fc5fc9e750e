"""The rows a monitor run judges: a window of captured traffic, or a dataset.

Captured rows of failed requests (status other than 200) carry no features the model used;
they are counted and left out. A dataset is any CSV or Parquet file or folder (a path or a URI)
with a column per feature — named as the feature, or ``feature.<name>`` as in capture files —
and optionally ``prediction`` (batch transform output has it); a ``ts`` column lets
``since``/``until`` cut a window out of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pandas as pd

from ray_apps import settings
from ray_apps.capture import FEATURE_PREFIX, read_capture
from ray_apps.errors import DataError, NotFoundError, SpecError
from ray_apps.monitoring.spec import CurrentData
from ray_apps.monitoring.summary import Window


@dataclass(frozen=True)
class WindowRows:
    window: Window
    frame: pd.DataFrame  # the rows to judge: answered requests only
    failed_rows: int


def default_capture_root() -> Path:
    """Where ``raymaker deploy`` captures by default: ``$RAYMAKER_HOME/capture``."""
    return settings.home("the capture folder", "the spec's capture: (or RAYMAKER_HOME)") / "capture"


def read_window(
    current: CurrentData, model: str, version: str, features: list[str], now: datetime
) -> WindowRows:
    """The rows of the window ``current`` names; an open ``until`` ends at ``now``."""
    until = current.until or now
    if current.dataset is not None:
        frame = _read_dataset(current.dataset, features)
        window = Window("dataset", current.dataset, current.since, current.until)
        if current.since or current.until:
            frame = _cut(frame, current.since, current.until, current.dataset)
    else:
        root = str(current.capture or default_capture_root())
        frame = read_capture(root, model, version, current.since, until, features=features)
        window = Window("capture", root, current.since, until)
    failed = 0
    if "status" in frame.columns:
        ok = frame["status"].fillna(0).astype(int) == 200
        failed = int((~ok).sum())
        frame = frame[ok].reset_index(drop=True)
    return WindowRows(window, frame, failed)


def _read_dataset(path: str, features: list[str]) -> pd.DataFrame:
    import pyarrow.dataset as pads

    fmt = "csv" if path.rstrip("/").lower().endswith(".csv") else "parquet"
    if "://" not in path and not Path(path).exists():
        raise NotFoundError(f"current.dataset {path!r} does not exist; pass a CSV/Parquet path")
    if "://" not in path and Path(path).is_dir() and any(Path(path).glob("*.csv")):
        fmt = "csv"
    try:
        frame = pads.dataset(path, format=fmt).to_table().to_pandas()
    except (OSError, ValueError) as err:
        raise DataError(f"current.dataset {path!r} cannot be read as {fmt}: {err}") from None
    renames = {
        FEATURE_PREFIX + f: f
        for f in features
        if f not in frame.columns and FEATURE_PREFIX + f in frame.columns
    }
    return frame.rename(columns=renames)


def _cut(frame: pd.DataFrame, since, until, where: str) -> pd.DataFrame:
    if "ts" not in frame.columns:
        raise SpecError(
            f"current.since/until cut a window by the ts column, and {where} has none; drop "
            "since/until or pass data with a ts column"
        )
    ts = pd.to_datetime(frame["ts"], utc=True)
    keep = pd.Series(True, index=frame.index)
    if since is not None:
        keep &= ts >= since
    if until is not None:
        keep &= ts < until
    return frame[keep].reset_index(drop=True)
