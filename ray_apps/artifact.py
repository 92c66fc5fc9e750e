"""Model artifacts: one self-contained folder per trained model, and ``load_model``.

Layout::

    raymaker.json      kind, task, label, classes, features, model class and params, preprocessing
    model.pt           torch state_dict       (kind torch)
    model.ubj          XGBoost booster        (kind xgboost)

The weights file is the learner's (``ray_apps.learners``): ``kind`` names the learner that
writes and reads it.
    metrics.json       held-out test metrics
    job.json           the job spec that trained it
    lineage.json       run id, data fingerprint, code version, library versions, MLflow run
    baseline.parquet   a sample of training rows: the reference for drift monitoring
    baseline_stats.json  types, ranges, categories, missing shares of all training rows
                       (``ray_apps.monitoring.baseline``; older artifacts lack it)
    MANIFEST.json      sha256 of every file above; checked on every load
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ray_apps.errors import ArtifactIntegrityError, DataError, NotFoundError
from ray_apps.learners import Learner, get_learner
from ray_apps.prediction import from_scores
from ray_apps.preprocess import Preprocessor

FORMAT_VERSION = 1
MANIFEST = "MANIFEST.json"
INFO = "raymaker.json"
BASELINE_ROWS = 1000


@dataclass(frozen=True)
class ModelInfo:
    """What a loaded model is: learner, task, schema and its preprocessing."""

    kind: str  # the learner's name (ray_apps.learners)
    task: str  # "classification" | "regression"
    label: str
    features: list[dict[str, str]]
    classes: list
    preprocessor: Preprocessor
    class_path: str | None = None
    model_params: dict[str, Any] = field(default_factory=dict)

    @property
    def feature_names(self) -> list[str]:
        return [f["name"] for f in self.features]

    def to_dict(self) -> dict[str, Any]:
        return {
            "format_version": FORMAT_VERSION,
            "kind": self.kind,
            "task": self.task,
            "label": self.label,
            "features": self.features,
            "classes": self.classes,
            "class_path": self.class_path,
            "model_params": self.model_params,
            "preprocessor": self.preprocessor.to_dict(),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ModelInfo:
        return cls(
            kind=d["kind"],
            task=d["task"],
            label=d["label"],
            features=d["features"],
            classes=d["classes"],
            class_path=d.get("class_path"),
            model_params=d.get("model_params", {}),
            preprocessor=Preprocessor.from_dict(d["preprocessor"]),
        )


class Model:
    """A trained model loaded from its artifact; ``predict`` takes rows, returns predictions."""

    def __init__(self, info: ModelInfo, predictor: Any, path: Path | None = None):
        self.info = info
        self.path = path
        self._predictor = predictor  # what the learner predicts with (a torch module, a booster)

    @property
    def learner(self) -> Learner:
        return get_learner(self.info.kind)

    @property
    def predictor(self) -> Any:
        """The learner's trained object (e.g. a ``torch.nn.Module``, an ``xgboost.Booster``)."""
        return self._predictor

    def prepare_for_serving(self) -> Model:
        """Tune this model for answering one request at a time (the learner's serving hint)."""
        self.learner.prepare_for_serving(self._predictor)
        return self

    @property
    def metrics(self) -> dict[str, float]:
        return _read_json(self.path / "metrics.json") if self.path else {}

    def predict(self, rows: Any) -> np.ndarray:
        """Class labels (classification) or values (regression) for each row."""
        return from_scores(self._raw(rows), self.info.task, self.info.classes).predictions

    def predict_proba(self, rows: Any) -> np.ndarray:
        """Class probabilities, one column per entry of ``info.classes``."""
        if self.info.task != "classification":
            raise DataError("predict_proba needs a classifier; this model is a regressor")
        return self._raw(rows)

    def predict_matrix(self, x: np.ndarray) -> np.ndarray:
        """Probabilities (classifier) or values (regressor) for a 2-D float array whose
        columns are the features in ``info.feature_names`` order: the serving fast path,
        without building a DataFrame."""
        return self._raw_features(self.info.preprocessor.transform_array(x))

    def _raw(self, rows: Any) -> np.ndarray:
        return self._raw_features(
            self.info.preprocessor.transform(_as_frame(rows, self.info.feature_names))
        )

    def _raw_features(self, x: np.ndarray) -> np.ndarray:
        return self.learner.predict(self._predictor, x, self.info)


def _as_frame(rows: Any, features: list[str]) -> pd.DataFrame:
    if isinstance(rows, pd.DataFrame):
        return rows
    if isinstance(rows, list) and rows and isinstance(rows[0], dict):
        return pd.DataFrame(rows)
    arr = np.asarray(rows, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[1] != len(features):
        raise DataError(
            f"rows have shape {arr.shape}; expected (n, {len(features)}) in the order {features}"
        )
    return pd.DataFrame(arr, columns=features)


def write_artifact(
    path: Path,
    info: ModelInfo,
    predictor: Any,
    *,
    metrics: dict[str, float],
    job: dict[str, Any],
    lineage: dict[str, Any],
    baseline: pd.DataFrame,
) -> Path:
    """Write the artifact folder and its checksum manifest; returns ``path``."""
    path.mkdir(parents=True, exist_ok=True)
    get_learner(info.kind).save_weights(predictor, path)
    _write_json(path / INFO, info.to_dict())
    _write_json(path / "metrics.json", metrics)
    _write_json(path / "job.json", job)
    _write_json(path / "lineage.json", lineage)
    sample = baseline.sample(min(len(baseline), BASELINE_ROWS), random_state=0)
    sample.reset_index(drop=True).to_parquet(path / "baseline.parquet", index=False)
    # Imported here: ray_apps.monitoring loads models through this module.
    from ray_apps.monitoring.baseline import STATS_FILE, compute_stats

    _write_json(path / STATS_FILE, compute_stats(baseline, info.feature_names).to_dict())
    files = sorted(p.name for p in path.iterdir() if p.is_file() and p.name != MANIFEST)
    _write_json(path / MANIFEST, {"sha256": {name: _sha256(path / name) for name in files}})
    return path


def verify_artifact(path: str | Path) -> dict[str, str]:
    """Check every file against the manifest; raise ArtifactIntegrityError on any mismatch."""
    path = Path(path)
    manifest_file = path / MANIFEST
    if not manifest_file.is_file():
        raise NotFoundError(f"{path} is not a raymaker artifact: it has no {MANIFEST}")
    expected = _read_json(manifest_file)["sha256"]
    for name, digest in expected.items():
        f = path / name
        if not f.is_file():
            raise ArtifactIntegrityError(
                f"artifact {path}: file {name} listed in the manifest is missing"
            )
        if _sha256(f) != digest:
            raise ArtifactIntegrityError(
                f"artifact {path}: {name} does not match its checksum; the artifact was changed "
                "or corrupted after training; retrain or restore it from the registry"
            )
    return expected


def load_model(path: str | Path) -> Model:
    """Load an artifact folder (local path or URI), after checking its checksums.

    A URI is copied to a temporary folder first. The Model reads its baseline and metrics
    from that copy long after loading, so the copy lives as long as the Model: it is removed
    when the Model is garbage-collected or the process exits.
    """
    if not is_remote(str(path)):
        return _load(local_folder(str(path)))
    local = fetch(str(path))
    try:
        model = _load(local)
    except BaseException:
        shutil.rmtree(local, ignore_errors=True)
        raise
    weakref.finalize(model, shutil.rmtree, local, ignore_errors=True)
    return model


def _load(local: Path) -> Model:
    verify_artifact(local)
    info = ModelInfo.from_dict(_read_json(local / INFO))
    return Model(info, get_learner(info.kind).load_weights(local, info), local)


def is_remote(path: str) -> bool:
    """Whether ``path`` is a URI to fetch (s3://, gs://, …) rather than a local folder."""
    return "://" in path and not path.startswith("file://")


def local_folder(path: str) -> Path:
    """The local artifact folder ``path`` (a path or ``file://`` URI) names; it must exist."""
    local = Path(path.removeprefix("file://"))
    if not local.is_dir():
        raise NotFoundError(f"no artifact at {path!r}; pass the folder a training run wrote")
    return local


@contextmanager
def local_copy(path: str) -> Iterator[Path]:
    """The artifact ``path`` as a local folder for the block: the folder itself, or a
    temporary copy of a URI, removed when the block ends."""
    if not is_remote(path):
        yield local_folder(path)
        return
    local = fetch(path)
    try:
        yield local
    finally:
        shutil.rmtree(local, ignore_errors=True)


def fetch(uri: str) -> Path:
    """Copy the artifact at ``uri`` into a new temporary folder, which the caller removes."""
    import pyarrow.fs as pafs

    target = Path(tempfile.mkdtemp(prefix="raymaker-artifact-"))
    try:
        pafs.copy_files(uri, str(target))
    except OSError as err:
        shutil.rmtree(target, ignore_errors=True)
        raise NotFoundError(f"cannot fetch artifact {uri!r}: {err}") from None
    return target


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2, sort_keys=True, default=str))


def _read_json(path: Path) -> Any:
    return json.loads(path.read_text())
