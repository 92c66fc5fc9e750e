"""The labelled rows an evaluation judges: a file's rows, or a bundled dataset's test split.

A bundled source (``sklearn:<name>``) is split as the model was trained (the artifact's
``job.json`` names the split) unless ``data.split`` says otherwise, so the test rows are the
ones training held out. A file is taken whole: it is the test set.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ray_apps.errors import DataError
from ray_apps.evaluation.spec import DataSpec
from ray_apps.spec import DatasetSpec, SplitSpec


@dataclass(frozen=True)
class LabelledRows:
    frame: pd.DataFrame  # features, label and any other columns (slices may use them)
    labels: np.ndarray
    source: str


def read_labelled_rows(data: DataSpec, info, artifact: Path | None) -> LabelledRows:
    """The rows of ``data`` with every feature of the model ``info`` describes."""
    label = data.label or info.label
    if data.source.startswith("sklearn:"):
        from ray_apps.data import load_dataset

        split = data.split or _trained_split(artifact)
        frame = load_dataset(DatasetSpec(source=data.source, split=split)).test
        source = f"{data.source} (test split, seed {split.seed})"
    else:
        frame, source = _read(data.source), data.source
    if label not in frame.columns:
        raise DataError(
            f"data.label {label!r} is not a column of {data.source!r}; its columns are "
            f"{list(frame.columns)}; set data.label"
        )
    absent = [f for f in info.feature_names if f not in frame.columns]
    if absent:
        raise DataError(f"{data.source!r} lacks the model's feature columns {absent}")
    frame = frame[frame[label].notna()].reset_index(drop=True)
    if frame.empty:
        raise DataError(f"{data.source!r} has no labelled rows")
    labels = frame[label].to_numpy()
    if info.task == "classification":
        labels = _as_classes(labels, info.classes, data.source)
    return LabelledRows(frame, labels, source)


def _trained_split(artifact: Path | None) -> SplitSpec:
    job = artifact / "job.json" if artifact else None
    if job is not None and job.is_file():
        split = (json.loads(job.read_text()).get("dataset") or {}).get("split")
        if isinstance(split, dict):
            return SplitSpec(**split)
    return SplitSpec()


def _as_classes(labels: np.ndarray, classes: list, source: str) -> np.ndarray:
    """Labels as the model's class values (a CSV reads 1 where training had 1.0, or "1")."""
    by_text = {str(c): c for c in classes}
    for c in classes:
        if isinstance(c, float) and c.is_integer():
            by_text[str(int(c))] = c
    out = []
    for value in labels.tolist():
        text = str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
        if text not in by_text:
            raise DataError(
                f"label {value!r} in {source!r} is not a class the model knows: {classes}"
            )
        out.append(by_text[text])
    return np.asarray(out, dtype=object if any(isinstance(c, str) for c in classes) else None)


def _read(source: str) -> pd.DataFrame:
    lower = source.lower()
    try:
        if lower.endswith((".csv", ".csv.gz")):
            return pd.read_csv(source)
        if lower.endswith((".parquet", ".pq")) or "." not in Path(source).name:
            return pd.read_parquet(source)
    except FileNotFoundError:
        raise DataError(f"data.source {source!r} does not exist; check the path") from None
    except (OSError, ValueError) as err:
        raise DataError(f"cannot read data.source {source!r}: {err}") from None
    raise DataError(
        f"data.source {source!r}: unknown format; use a .csv or .parquet file (or a folder "
        "of Parquet files), or a bundled name such as sklearn:breast_cancer"
    )
