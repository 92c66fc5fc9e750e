"""Tabular datasets: read, check, split with a seed, and describe.

Sources: a CSV or Parquet path or URI (anything pyarrow/fsspec opens: local, s3://, gs://,
file://, …) or a bundled scikit-learn dataset ``sklearn:<name>``. The result is a
:class:`TabularData` holding the three splits as pandas frames plus the feature schema; the
trainers turn the splits into Ray Datasets to shard them across workers.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ray_apps.errors import DataError
from ray_apps.spec import DatasetSpec

# name -> (loader name in sklearn.datasets, task)
BUNDLED = {
    "breast_cancer": ("load_breast_cancer", "classification"),
    "digits": ("load_digits", "classification"),
    "iris": ("load_iris", "classification"),
    "wine": ("load_wine", "classification"),
    "diabetes": ("load_diabetes", "regression"),
}
BUNDLED_LABEL = "target"


@dataclass(frozen=True)
class Feature:
    name: str
    dtype: str


@dataclass(frozen=True)
class TabularData:
    """Seeded splits of one table, with what the model needs to know about it."""

    train: pd.DataFrame
    valid: pd.DataFrame
    test: pd.DataFrame
    features: list[Feature]
    label: str
    task: str  # "classification" | "regression"
    classes: list  # sorted label values for classification, [] for regression
    fingerprint: str  # sha256 of the full table's contents, before splitting

    @property
    def feature_names(self) -> list[str]:
        return [f.name for f in self.features]


def load_dataset(spec: DatasetSpec) -> TabularData:
    """Read ``spec.source``, check it, and split it with ``spec.split.seed``."""
    frame, label, bundled_task = _read(spec)
    features = _feature_columns(frame, spec, label)
    task = spec.task if spec.task != "auto" else bundled_task or _infer_task(frame[label])
    frame = frame[[*features, label]].reset_index(drop=True)
    if frame[label].isna().any():
        raise DataError(
            f"label column {label!r} has {int(frame[label].isna().sum())} missing values; "
            "drop or fill those rows"
        )
    classes: list = []
    if task == "classification":
        classes = sorted(frame[label].unique().tolist())
        if len(classes) < 2:
            raise DataError(f"label {label!r} has a single class {classes}; need at least two")
    train, valid, test = _split(frame, spec)
    return TabularData(
        train=train,
        valid=valid,
        test=test,
        features=[Feature(c, str(frame[c].dtype)) for c in features],
        label=label,
        task=task,
        classes=classes,
        fingerprint=fingerprint(frame),
    )


def fingerprint(frame: pd.DataFrame) -> str:
    """Content hash of a table: same rows and columns, same fingerprint."""
    hashed = pd.util.hash_pandas_object(frame, index=False).to_numpy()
    h = hashlib.sha256(hashed.tobytes())
    h.update(",".join(map(str, frame.columns)).encode())
    return h.hexdigest()


def _read(spec: DatasetSpec) -> tuple[pd.DataFrame, str, str | None]:
    source = spec.source
    if source.startswith("sklearn:"):
        return _read_bundled(source.removeprefix("sklearn:"), spec.label)
    if spec.label is None:
        raise DataError(
            f"dataset.label is required for {source!r}; name the label column, e.g. label: target"
        )
    frame = _read_file(source)
    if frame.empty:
        raise DataError(f"dataset {source!r} has no rows")
    if spec.label not in frame.columns:
        raise DataError(
            f"label column {spec.label!r} is not in {source!r}; its columns are "
            f"{list(frame.columns)}"
        )
    return frame, spec.label, None


def _read_bundled(name: str, label: str | None) -> tuple[pd.DataFrame, str, str]:
    if name not in BUNDLED:
        raise DataError(
            f"unknown bundled dataset 'sklearn:{name}'; choose one of "
            + ", ".join(f"sklearn:{n}" for n in sorted(BUNDLED))
        )
    if label not in (None, BUNDLED_LABEL):
        raise DataError(
            f"bundled datasets name their label {BUNDLED_LABEL!r}; remove dataset.label"
        )
    import sklearn.datasets

    loader, task = BUNDLED[name]
    bunch = getattr(sklearn.datasets, loader)(as_frame=True)
    frame = bunch.frame.copy()
    # Column names become MLflow params, JSON keys and HTTP field names: keep them plain.
    frame.columns = [
        str(c).strip().replace(" ", "_").replace("(", "").replace(")", "") for c in frame.columns
    ]
    return frame, BUNDLED_LABEL, task


def _read_file(source: str) -> pd.DataFrame:
    lower = source.lower()
    if not lower.endswith((".csv", ".csv.gz", ".parquet", ".pq")) and not _is_dir(source):
        raise DataError(
            f"dataset.source {source!r}: unknown format; use a .csv or .parquet file (or a "
            "folder of Parquet files), or a bundled name such as sklearn:breast_cancer"
        )
    try:
        if lower.endswith((".csv", ".csv.gz")):
            return pd.read_csv(source)
        return pd.read_parquet(source)
    except FileNotFoundError:
        raise DataError(f"dataset.source {source!r} does not exist; check the path") from None
    except pd.errors.EmptyDataError:
        raise DataError(f"dataset {source!r} is empty") from None
    except (OSError, ValueError) as err:
        raise DataError(f"cannot read dataset.source {source!r}: {err}") from None


def _is_dir(source: str) -> bool:
    import fsspec

    try:
        fs, path = fsspec.core.url_to_fs(source)
        return fs.isdir(path)
    except (OSError, ValueError, ImportError):
        return False


def _feature_columns(frame: pd.DataFrame, spec: DatasetSpec, label: str) -> list[str]:
    features = spec.features or [c for c in frame.columns if c != label]
    missing = [c for c in features if c not in frame.columns]
    if missing:
        raise DataError(
            f"dataset.features {missing} are not columns of {spec.source!r}; "
            f"its columns are {list(frame.columns)}"
        )
    if not features:
        raise DataError(f"dataset {spec.source!r} has no feature columns besides {label!r}")
    bad = [c for c in features if not pd.api.types.is_numeric_dtype(frame[c])]
    if bad:
        kinds = {c: str(frame[c].dtype) for c in bad}
        raise DataError(
            f"non-numeric feature columns {kinds}: the models take numbers only; encode them "
            "as numbers first, or leave them out with dataset.features"
        )
    return list(features)


def _infer_task(label: pd.Series) -> str:
    if not pd.api.types.is_numeric_dtype(label) or pd.api.types.is_bool_dtype(label):
        return "classification"
    values = label.dropna().to_numpy()
    integral = np.all(np.equal(np.mod(values, 1), 0))
    return "classification" if integral and label.nunique() <= 50 else "regression"


def _split(frame: pd.DataFrame, spec: DatasetSpec) -> tuple[pd.DataFrame, ...]:
    rng = np.random.default_rng(spec.split.seed)
    order = rng.permutation(len(frame))
    n_test = int(round(len(frame) * spec.split.test))
    n_valid = int(round(len(frame) * spec.split.valid))
    if len(frame) - n_test - n_valid < 2:
        raise DataError(f"dataset {spec.source!r} has {len(frame)} rows: too few to split")
    test, valid, train = np.split(order, [n_test, n_test + n_valid])
    return tuple(frame.iloc[idx].reset_index(drop=True) for idx in (train, valid, test))
