"""What both readouts need from captured traffic: the versions' classes, the labels, scores."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from ray_apps.capture.labels import has_labels, label_text, labels_folder
from ray_apps.capture.schema import METADATA_KEY
from ray_apps.errors import DataError
from ray_apps.monitoring.labels import join_labels, read_labels


def version_classes(capture_path: str | Path, model: str, version: str) -> list[str]:
    """The class names of a captured version, as label text, in probability order ([] for a
    regressor, or files written before capture stored classes)."""
    import fsspec
    import pyarrow.parquet as pq

    fs, root = fsspec.core.url_to_fs(str(capture_path))
    pattern = f"{root.rstrip('/')}/model={model}/version={version}/date=*/hour=*/part-*.parquet"
    for f in sorted(fs.glob(pattern)):
        meta = pq.read_schema(f, filesystem=fs).metadata or {}
        if METADATA_KEY in meta:
            return [label_text(c) for c in json.loads(meta[METADATA_KEY]).get("classes", [])]
    return []


def posted_labels(capture_path: str | Path, model: str) -> str | None:
    """The folder of labels posted to the endpoint for ``model``, when any were (URIs: assumed)."""
    if "://" in str(capture_path):
        return f"{str(capture_path).rstrip('/')}/model={model}/labels"
    return str(labels_folder(capture_path, model)) if has_labels(capture_path, model) else None


def attach_labels(rows: pd.DataFrame, path: str, column: str, where: str) -> pd.Series:
    """Each row's label (``column`` of the labels at ``path``), joined by request_id and row."""
    return join_labels(rows, read_labels(path, column), where)


def is_classifier(rows: pd.DataFrame) -> bool:
    return "probabilities" in rows and bool(rows["probabilities"].notna().any())


def as_text(values: pd.Series) -> pd.Series:
    """Labels and predictions compared as the model names its classes (1, 1.0, "1": "1")."""
    return values.map(lambda v: None if v is None or v is pd.NA else label_text(v))


def probability_matrix(rows: pd.DataFrame, classes: dict[str, list[str]], order: list[str]):
    """``(n, len(order))`` probabilities of ``rows`` with columns in class ``order``, from each
    row's version's class list (versions may list classes differently); 0 for a class absent."""
    out = np.zeros((len(rows), len(order)))
    index = {c: j for j, c in enumerate(order)}
    for version, part in rows.groupby("version", sort=False).groups.items():
        names = classes[str(version)]
        if not names:
            raise DataError(
                f"capture of version {version} holds no class names (written before capture "
                "stored them); probabilities cannot be matched to labels or to another version"
            )
        at = rows.index.get_indexer(part)
        probs = np.stack(rows.loc[part, "probabilities"].to_numpy())
        for j, name in enumerate(names):
            out[at, index[name]] = probs[:, j]
    return out
