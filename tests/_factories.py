"""Small real artifacts for tests, written in-process in well under a second (no Ray)."""

from __future__ import annotations

from pathlib import Path

import xgboost as xgb

from ray_apps.artifact import ModelInfo, write_artifact
from ray_apps.data import load_dataset
from ray_apps.preprocess import Preprocessor
from ray_apps.spec import DatasetSpec, SplitSpec


def xgboost_artifact(
    path: Path, *, source: str = "sklearn:iris", rounds: int = 5, seed: int = 0
) -> Path:
    """An XGBoost classifier artifact on a bundled dataset; ``rounds`` varies the model,
    ``seed`` the split (which rows train and become the baseline)."""
    data = load_dataset(DatasetSpec(source=source, split=SplitSpec(seed=seed)))
    pre = Preprocessor.fit(data.train, data.feature_names, data.label, data.classes, scale=False)
    n_classes = len(data.classes)
    params = (
        {"objective": "multi:softprob", "num_class": n_classes}
        if n_classes > 2
        else {"objective": "binary:logistic"}
    )
    dtrain = xgb.DMatrix(
        pre.transform(data.train),
        label=pre.encode_label(data.train[data.label]),
        feature_names=data.feature_names,
    )
    booster = xgb.train({**params, "max_depth": 3, "nthread": 1}, dtrain, num_boost_round=rounds)
    info = ModelInfo(
        kind="xgboost",
        task=data.task,
        label=data.label,
        features=[{"name": f.name, "dtype": f.dtype} for f in data.features],
        classes=data.classes,
        preprocessor=pre,
    )
    return write_artifact(
        path,
        info,
        booster,
        metrics={"accuracy": 0.9, "rounds": float(rounds)},
        job={"name": "test", "rounds": rounds},
        lineage={"run_name": "test", "mlflow_run_id": ""},
        baseline=data.train,
    )
