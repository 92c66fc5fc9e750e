"""Data for the monitor tests: an artifact on breast_cancer and windows of its held-out rows."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
from _factories import xgboost_artifact

from ray_apps.capture import CaptureRecord, partition, to_table
from ray_apps.capture.schema import file_name
from ray_apps.data import load_dataset
from ray_apps.prediction import from_scores
from ray_apps.spec import DatasetSpec, SplitSpec

SOURCE = "sklearn:breast_cancer"
SHIFTED = ["mean_radius", "worst_smoothness"]


def artifact_and_window(
    folder: Path, seed: int = 0, *, labels: bool = False
) -> tuple[Path, pd.DataFrame, pd.Series]:
    """An artifact whose baseline is the training split of ``seed`` (its metrics the real
    ones on the test split), the held-out rows (an unshifted random split of the same data;
    with their ``target`` when ``labels``) and the training standard deviations."""
    art = xgboost_artifact(folder / f"artifact-{seed}", source=SOURCE, seed=seed, scored=True)
    data = load_dataset(DatasetSpec(source=SOURCE, split=SplitSpec(seed=seed)))
    held_out = pd.concat([data.valid, data.test])
    if not labels:
        held_out = held_out.drop(columns=data.label)
    return art, held_out.reset_index(drop=True), data.train.std(numeric_only=True)


def shifted(frame: pd.DataFrame, std: pd.Series, k: float, columns=SHIFTED) -> pd.DataFrame:
    """``frame`` with ``columns`` moved up by ``k`` training standard deviations."""
    out = frame.copy()
    for c in columns:
        out[c] = out[c] + k * std[c]
    return out


def write(frame: pd.DataFrame, path: Path) -> str:
    frame.to_parquet(path, index=False)
    return str(path)


def capture(root, model, frame, at: datetime, rid: str, status=200):
    """One request of ``frame``'s rows, answered by ``model`` at ``at``, as serve writes it."""
    features = model.info.feature_names
    x = frame[features].to_numpy(dtype=float) if status == 200 else None
    pred = None
    if x is not None:
        pred = from_scores(model.predict_matrix(x), "classification", model.info.classes)
    rec = CaptureRecord(
        at.timestamp(), rid, "cancer", "1", "v2_infer", status, 1.0, features, x, pred,
        error=None if status == 200 else "bad", body=None if status == 200 else "{",
    )  # fmt: skip
    folder = partition(root, "cancer", "1", at)
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(to_table([rec]), folder / file_name(at))
