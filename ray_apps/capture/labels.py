"""Ground-truth labels posted for captured requests: where they are kept and how they are written.

    <capture root>/model=<name>/labels/date=YYYY-MM-DD/labels-<YYYYmmddTHHMMSS.ffffff>-<hex>.parquet

Columns (what ``ray_apps.monitoring.labels.read_labels`` reads, so the folder is a ``labels:``
path like any other; a monitor run on captured traffic reads it by default):

    received_at  timestamp[us, UTC]  when the label arrived; of two labels of one request row
                                     the later wins (a correction)
    request_id   string              the request's id (``x-request-id`` of its answer)
    row          int64               the row within the request (0 for one-row requests)
    label        string              the class label as the model names its classes
                                     (1, 1.0 and "1" are all "1"), or the value of a regressor

One call writes one file, under a hidden name first, flushed to disk and renamed into place:
append-only, never a file rewritten, so replicas writing at once never lose each other's
labels, and a reader never sees half a file. The labels sit beside the versions' traffic
(``version=*`` folders) because a request id is the model's, whichever version answered it.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

LABELS_FOLDER = "labels"


def labels_folder(root: str | Path, model: str) -> Path:
    """Where labels of ``model`` posted to an endpoint capturing under ``root`` are kept."""
    return Path(root) / f"model={model}" / LABELS_FOLDER


def label_text(value: str | int | float) -> str:
    """A label as the model's class names are written: 1, 1.0 and "1" are all "1"."""
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


def write_labels(
    root: str | Path,
    model: str,
    request_ids: Sequence[str],
    rows: Sequence[int],
    labels: Sequence[str | int | float],
    *,
    now: datetime | None = None,
) -> Path:
    """Append one file of labels; returns its path once it is durably in place."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    now = now or datetime.now(UTC)
    table = pa.table(
        {
            "received_at": pa.array([now] * len(request_ids), pa.timestamp("us", tz="UTC")),
            "request_id": pa.array([str(r) for r in request_ids], pa.string()),
            "row": pa.array(rows, pa.int64()),
            "label": pa.array([label_text(v) for v in labels], pa.string()),
        }
    )
    folder = labels_folder(root, model) / f"date={now:%Y-%m-%d}"
    folder.mkdir(parents=True, exist_ok=True)
    name = f"labels-{now:%Y%m%dT%H%M%S.%f}-{uuid.uuid4().hex[:12]}.parquet"
    tmp = folder / f".{name}.tmp"  # readers skip names starting with "."
    with open(tmp, "wb") as f:
        pq.write_table(table, f)
        f.flush()
        os.fsync(f.fileno())  # answered 200 means on disk: the caller will not send it again
    os.replace(tmp, folder / name)
    _fsync_dir(folder)
    return folder / name


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def has_labels(root: str | Path, model: str) -> bool:
    """Whether any labels of ``model`` were posted under ``root``."""
    return any(labels_folder(root, model).glob("date=*/labels-*.parquet"))


def capture_files(root: str | Path, model: str, since: datetime) -> list[Path]:
    """Capture files of every version of ``model`` in hour partitions ending after ``since``."""
    from ray_apps.capture.schema import hour_of

    out = []
    for hour_dir in sorted(Path(root).glob(f"model={model}/version=*/date=*/hour=*")):
        hour = hour_of(hour_dir)
        if hour is not None and hour + timedelta(hours=1) > since:
            out.extend(sorted(hour_dir.glob("part-*.parquet")))
    return out
