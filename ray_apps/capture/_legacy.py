"""Capture files of format 1 (before 2026-11-24), converted to the format-2 table.

Format 1 had one row per request: ``ts``, ``request_id``, ``protocol``, ``status``,
``latency_ms``, ``inputs`` (JSON rows in feature order, or the raw body when it did not parse)
and ``outputs`` (the JSON answer, or ``{"error": ...}``). It stored no feature names, so the
reader takes them from a format-2 file of the same version or from its ``features`` argument.

A 200 row becomes one row per instance, with the features, prediction and probabilities the
answer held (V1 ``predictions``/``probabilities``, V2 ``predict``/``probabilities`` outputs).
Any other status becomes one row with null features, ``error`` from the answer and ``body``
from ``inputs`` (whatever it held: the raw body, or rows that parsed before a later failure).
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd

from ray_apps.capture.schema import BODY_LIMIT, feature_column
from ray_apps.errors import DataError

COLUMNS = ("ts", "request_id", "protocol", "status", "latency_ms", "inputs", "outputs")


def is_legacy(names: list[str]) -> bool:
    return "inputs" in names and "outputs" in names


def legacy_frame(old: pd.DataFrame, features: list[str], where: str) -> pd.DataFrame:
    """The format-2 frame (``feature.<name>`` columns) of a format-1 file's rows."""
    rows: list[dict[str, Any]] = []
    for rec in old.itertuples(index=False):
        base = {
            "ts": rec.ts,
            "request_id": rec.request_id,
            "protocol": rec.protocol,
            "status": int(rec.status),
            "latency_ms": float(rec.latency_ms),
        }
        answer = _loads(rec.outputs)
        if int(rec.status) != 200:
            error = answer.get("error") if isinstance(answer, dict) else rec.outputs
            rows.append({**base, "row": 0, "error": error, "body": rec.inputs[:BODY_LIMIT]})
            continue
        x = _loads(rec.inputs)
        preds, probs = _answer(answer)
        for i, values in enumerate(x):
            if len(values) != len(features):
                raise DataError(
                    f"{where}: request {rec.request_id} has {len(values)} features, the model "
                    f"has {len(features)} ({features}); pass the version's feature names"
                )
            pred = None if preds is None else preds[i]
            row = {**base, "row": i, "prediction": pred, "error": None, "body": None}
            row.update({feature_column(f): float(v) for f, v in zip(features, values, strict=True)})
            if probs is not None:
                row["probabilities"] = [float(p) for p in probs[i]]
            rows.append(row)
    frame = pd.DataFrame(rows)
    preds = [r.get("prediction") for r in rows]
    if any(p is not None for p in preds) and all(type(p) in (int, type(None)) for p in preds):
        frame["prediction"] = pd.array(preds, dtype="Int64")  # as format 2 reads them
    for f in features:
        if feature_column(f) not in frame:
            frame[feature_column(f)] = float("nan")
    return frame


def _answer(answer: Any) -> tuple[list | None, list[list[float]] | None]:
    """Predictions and probabilities from a V1 or V2 answer (V2 may have asked for one)."""
    if "predictions" in answer:
        return answer["predictions"], answer.get("probabilities")
    outputs = {o["name"]: o for o in answer.get("outputs", [])}
    preds = outputs["predict"]["data"] if "predict" in outputs else None
    if "probabilities" not in outputs:
        return preds, None
    flat = outputs["probabilities"]["data"]
    k = outputs["probabilities"]["shape"][1]
    return preds, [flat[i : i + k] for i in range(0, len(flat), k)]


def _loads(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text
