"""The capture record format: one Parquet row per captured request row, in hive partitions.

    <root>/model=<name>/version=<v>/date=YYYY-MM-DD/hour=HH/part-<YYYYmmddTHHMMSS>-<hex>.parquet

Columns of a file (format 3; ``model`` and ``version`` come from the partition folders):

    ts              timestamp[us, UTC]  when the request was answered
    request_id      string              the endpoint's request id (``x-request-id``)
    row             int32               the row's index within its request (0 … n-1)
    protocol        string              the route: ``v1_predict`` or ``v2_infer``
    status          int32               the HTTP status answered
    latency_ms      float64             time in the replica
    variant         string, nullable    the endpoint variant that answered (null: no variants)
    shadow          bool                True: a shadow copy's answer, never returned to the caller
    feature.<name>  float64, nullable   one column per model feature, in feature order
    prediction      label / value       the class label (classifier) or value (regressor)
    probabilities   list<float64>       classifiers: one entry per class, in ``classes`` order
    error           string, nullable    the error message of a failed request
    body            string, nullable    the raw body (first 10,000 characters) when the
                                        features did not parse

A request with n instances is n rows sharing ``request_id``. A failed request whose features
did not parse (4xx: bad JSON, wrong shape, ...) is one row with null features, null prediction,
its ``status``, ``error`` and ``body``. The file's key-value metadata ``raymaker.capture`` holds
``{"format": 3, "features": [...], "classes": [...]}``.

Format 2 (before variants) had neither ``variant`` nor ``shadow``; the reader fills
``variant=None`` and ``shadow=False``, which is what every such request was: the one version's
answer, returned to its caller.

Why probabilities are one list column rather than one column per class: the columns of a file
then do not depend on class names (which may be any string, or collide with other columns) or
their number; ``np.stack(frame.probabilities)`` is the ``(n, k)`` matrix.

Why features carry the ``feature.`` prefix in the file: a feature may be named like any
metadata column (``status``, ``ts``), and a file must never be ambiguous. The reader strips the
prefix and refuses names that collide (see ``ray_apps.capture.reader``).

Format 1 (written before features were typed) stored ``inputs`` and ``outputs`` as JSON strings,
one row per request; the reader converts it to the same table (``ray_apps.capture._legacy``).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from ray_apps.prediction import Prediction

FORMAT = 3
METADATA_KEY = b"raymaker.capture"
FEATURE_PREFIX = "feature."
BODY_LIMIT = 10_000
# The columns of the reader's frame besides the features, in order. A feature of one of these
# names would be ambiguous in the frame.
RESERVED = (
    "ts",
    "request_id",
    "row",
    "model",
    "version",
    "protocol",
    "status",
    "latency_ms",
    "variant",
    "shadow",
    "prediction",
    "probabilities",
    "error",
    "body",
)
_BEFORE_FEATURES = RESERVED.index("prediction")  # ts … shadow precede the features


def frame_columns(feature_columns: Sequence[str]) -> list[str]:
    """The columns of a capture frame, in order, with these feature columns."""
    return [*RESERVED[:_BEFORE_FEATURES], *feature_columns, *RESERVED[_BEFORE_FEATURES:]]


@dataclass(frozen=True, slots=True)
class CaptureRecord:
    """One captured request, as the request path hands it over (no conversion done yet)."""

    ts: float  # seconds since the epoch
    request_id: str
    model: str
    version: str
    protocol: str
    status: int
    latency_ms: float
    features: Sequence[str]
    inputs: np.ndarray | None = None  # float (n, len(features)); None when it did not parse
    prediction: Prediction | None = None  # None when the call failed
    error: str | None = None
    body: bytes | str | None = None  # kept only when ``inputs`` is None
    variant: str | None = None  # the endpoint variant that answered; None: no variants
    shadow: bool = False  # a shadow copy's answer, never returned to the caller

    def n_rows(self) -> int:
        return len(self.inputs) if self.inputs is not None else 1


def feature_column(name: str) -> str:
    """The file column of feature ``name``."""
    return FEATURE_PREFIX + name


def partition(root: Path, model: str, version: str, ts: datetime) -> Path:
    """The hive-style folder a record of ``model`` ``version`` answered at ``ts`` belongs in."""
    return root / f"model={model}" / f"version={version}" / f"date={ts:%Y-%m-%d}" / f"hour={ts:%H}"


def hour_of(folder: Path) -> datetime | None:
    """The UTC hour a ``date=…/hour=…`` folder holds, or None for a folder of another shape."""
    try:
        date = folder.parent.name.removeprefix("date=")
        hour = folder.name.removeprefix("hour=")
        return datetime.strptime(f"{date} {hour}", "%Y-%m-%d %H").replace(tzinfo=UTC)
    except ValueError:
        return None


def file_name(ts: datetime) -> str:
    return f"part-{ts:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}.parquet"


def to_table(records: Sequence[CaptureRecord]):
    """The ``pyarrow.Table`` of records of ONE model version (same features), format 3."""
    import pyarrow as pa

    features = list(records[0].features)
    counts = np.array([r.n_rows() for r in records])
    first = np.repeat(np.concatenate(([0], np.cumsum(counts)[:-1])), counts)
    total = int(counts.sum())
    meta = {
        "ts": pa.array(
            np.repeat([int(r.ts * 1_000_000) for r in records], counts),
            pa.timestamp("us", tz="UTC"),
        ),
        "request_id": pa.array(np.repeat([r.request_id for r in records], counts), pa.string()),
        "row": pa.array(np.arange(total) - first, pa.int32()),
        "protocol": pa.array(np.repeat([r.protocol for r in records], counts), pa.string()),
        "status": pa.array(np.repeat([r.status for r in records], counts), pa.int32()),
        "latency_ms": pa.array(np.repeat([r.latency_ms for r in records], counts), pa.float64()),
        "variant": pa.array(np.repeat([r.variant for r in records], counts), pa.string()),
        "shadow": pa.array(np.repeat([bool(r.shadow) for r in records], counts), pa.bool_()),
    }
    x, parsed = _stack([r.inputs for r in records], counts, len(features))
    cols = {feature_column(f): pa.array(x[:, j], mask=~parsed) for j, f in enumerate(features)}
    preds = [r.prediction for r in records]
    classes = next((p.classes for p in preds if p is not None), [])
    outputs = {"prediction": _predictions(preds, counts)}
    if classes:
        outputs["probabilities"] = _probabilities(preds, counts, len(classes))
    failure = {
        "error": pa.array(np.repeat([r.error for r in records], counts), pa.string()),
        "body": pa.array(np.repeat([_text(r.body) for r in records], counts), pa.string()),
    }
    table = pa.table({**meta, **cols, **outputs, **failure})
    info = {"format": FORMAT, "features": features, "classes": _plain(classes)}
    return table.replace_schema_metadata({METADATA_KEY: json.dumps(info)})


def _stack(inputs, counts, n_features: int) -> tuple[np.ndarray, np.ndarray]:
    x = np.full((int(counts.sum()), n_features), np.nan)
    parsed = np.zeros(len(x), dtype=bool)
    start = 0
    for arr, n in zip(inputs, counts, strict=True):
        if arr is not None:
            x[start : start + n] = arr
            parsed[start : start + n] = True
        start += n
    return x, parsed


def _predictions(preds: list[Prediction | None], counts):
    import pyarrow as pa

    have = [p.predictions for p in preds if p is not None]
    if not have:
        return pa.nulls(int(counts.sum()))
    values = np.concatenate(have)
    full = np.zeros(int(counts.sum()), dtype=values.dtype)
    mask = np.repeat([p is None for p in preds], counts)
    full[~mask] = values
    return pa.array(full, mask=mask)


def _probabilities(preds: list[Prediction | None], counts, k: int):
    import pyarrow as pa

    mask = np.repeat([p is None for p in preds], counts)
    values = np.concatenate([p.probabilities for p in preds if p is not None]).reshape(-1)
    lengths = np.where(mask, 0, k)
    offsets = np.concatenate(([0], np.cumsum(lengths))).astype(np.int32)
    return pa.ListArray.from_arrays(
        pa.array(offsets), pa.array(values, pa.float64()), mask=pa.array(mask)
    )


def _text(body: bytes | str | None) -> str | None:
    if body is None or isinstance(body, str):
        return None if body is None else body[:BODY_LIMIT]
    return body[:BODY_LIMIT].decode("utf-8", errors="replace")


def _plain(classes: list) -> list:
    return [c.item() if hasattr(c, "item") else c for c in classes]
