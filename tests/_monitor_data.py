"""Data for the monitor tests: an artifact on breast_cancer and windows of its held-out rows."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from _factories import xgboost_artifact

from ray_apps.data import load_dataset
from ray_apps.spec import DatasetSpec, SplitSpec

SOURCE = "sklearn:breast_cancer"
SHIFTED = ["mean_radius", "worst_smoothness"]


def artifact_and_window(folder: Path, seed: int = 0) -> tuple[Path, pd.DataFrame, pd.Series]:
    """An artifact whose baseline is the training split of ``seed``, the held-out rows (an
    unshifted random split of the same data) and the training standard deviations."""
    art = xgboost_artifact(folder / f"artifact-{seed}", source=SOURCE, seed=seed)
    data = load_dataset(DatasetSpec(source=SOURCE, split=SplitSpec(seed=seed)))
    held_out = pd.concat([data.valid, data.test]).drop(columns=data.label)
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
