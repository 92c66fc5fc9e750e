"""``POST /v1/models/{name}/labels``: ground truth for earlier requests, joined by request id.

    {"labels": [{"request_id": "8c1f…", "label": 1}, {"request_id": "…", "row": 2, "label": 0}]}
    {"request_id": "8c1f…", "label": 1}                      # one label alone
    → 200 {"model_name": "cancer", "accepted": 2, "unmatched": 0, "file": "labels-….parquet"}

``request_id`` is the ``x-request-id`` of the answer being labelled (a client may also send
its own ``x-request-id`` with the request); ``row`` the row within that request (default 0);
``label`` a class of the served version (a classifier; 400 naming the classes otherwise) or a
number (a regressor). Inference keys may post labels (so may admin keys): labels feed the
model-quality check of ``raymaker monitor``, they never change the registry or a served model.

The labels are appended to ``<capture root>/model=<name>/labels/`` (``ray_apps.capture.labels``
has the format; one file per call, flushed before the answer, so 200 means stored), where a
monitor run over captured traffic reads them by default. Request ids this endpoint has not
captured in the last ``LOOKBACK`` are stored too — a label may come before its request is
flushed (``capture.flush_interval_s``), or for a request the sampling left out — and counted
as ``unmatched`` in the answer. The ids of each capture file are read once per replica (files
never change once written).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import Field, StrictFloat, StrictInt, StrictStr

from ray_apps.capture.labels import capture_files, label_text, write_labels
from ray_apps.errors import SpecError
from ray_apps.spec import _Strict, parse_spec
from serve.protocol_v1 import load_json
from serve.served_model import ServedModel

LOOKBACK = timedelta(days=7)  # how far back a posted request id is looked for in the capture
MAX_LABELS = 10_000  # per call


class LabelItem(_Strict):
    request_id: StrictStr = Field(min_length=1, max_length=256)
    row: StrictInt = Field(0, ge=0)
    label: StrictInt | StrictFloat | StrictStr


class LabelsBody(_Strict):
    labels: list[LabelItem] = Field(min_length=1, max_length=MAX_LABELS)


def parse_labels(body: bytes, model: ServedModel) -> list[LabelItem]:
    """The labels of a body, each checked against the served version's classes or task."""
    doc = load_json(body)
    if isinstance(doc, dict) and "labels" not in doc and "request_id" in doc:
        doc = {"labels": [doc]}
    items = parse_spec(LabelsBody, doc, source="labels body").labels
    if model.is_classifier:
        classes = [label_text(c) for c in model.classes]
        for i, item in enumerate(items):
            if label_text(item.label) not in classes:
                raise SpecError(
                    f"labels[{i}].label {item.label!r} is no class of {model.name}:"
                    f"{model.version}; its classes are {model.classes}"
                )
    else:
        for i, item in enumerate(items):
            if isinstance(item.label, str):
                raise SpecError(
                    f"labels[{i}].label {item.label!r} is text; {model.name} is a regressor: "
                    "send the observed value as a number"
                )
    return items


class CapturedIds:
    """Request ids captured for each model in the last ``LOOKBACK``, read file by file.

    A file's ids are kept as a sorted array of 64-bit hashes (8 bytes an id, not a Python
    string's ~70): a week of busy capture stays tens of MB per replica. Python's string hash is
    stable within the process, which is all the cache lives in; a collision (2^-64) would count
    one unknown id as matched, and the label is stored either way.
    """

    def __init__(self, root: str | Path):
        self.root = Path(root)
        self._by_file: dict[Path, np.ndarray] = {}

    def unmatched(self, model: str, ids: list[str], now: datetime) -> int:
        """How many of ``ids`` no capture file of ``model`` in the lookback holds."""
        wanted = _hashes(ids)
        found = np.zeros(len(wanted), dtype=bool)
        fresh = {}
        for f in capture_files(self.root, model, now - LOOKBACK):
            known = self._by_file.get(f)
            if known is None:
                known = _read_ids(f)
            fresh[f] = known
            if len(known):
                at = np.minimum(np.searchsorted(known, wanted), len(known) - 1)
                found |= known[at] == wanted
        prefix = f"model={model}"
        others = {f: v for f, v in self._by_file.items() if prefix not in f.parts}
        self._by_file = {**others, **fresh}  # files out of the lookback are forgotten
        return int((~found).sum())


def _hashes(ids) -> np.ndarray:
    return np.sort(np.fromiter((hash(str(i)) for i in ids), dtype=np.int64, count=len(ids)))


def _read_ids(file: Path) -> np.ndarray:
    import pyarrow.parquet as pq

    try:
        ids = pq.read_table(file, columns=["request_id"])[0].to_pylist()
    except (OSError, KeyError):  # removed meanwhile, or a file without request ids
        return np.zeros(0, dtype=np.int64)
    return _hashes(ids)


async def post_labels(
    model: ServedModel, body: bytes, root: str, captured: CapturedIds
) -> dict[str, Any]:
    items = parse_labels(body, model)
    now = datetime.now(UTC)

    def store() -> tuple[Path, int]:
        path = write_labels(
            root,
            model.name,
            [i.request_id for i in items],
            [i.row for i in items],
            [i.label for i in items],
            now=now,
        )
        return path, captured.unmatched(model.name, [i.request_id for i in items], now)

    path, unmatched = await asyncio.to_thread(store)
    return {
        "model_name": model.name,
        "accepted": len(items),
        "unmatched": unmatched,
        "file": path.name,
    }
