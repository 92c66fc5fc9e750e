"""Small real artifacts for tests, written in-process in well under a second (no Ray)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xgboost as xgb

from ray_apps.artifact import ModelInfo, write_artifact
from ray_apps.data import load_dataset
from ray_apps.metrics import classification_metrics
from ray_apps.preprocess import Preprocessor
from ray_apps.spec import DatasetSpec, SplitSpec


def xgboost_artifact(
    path: Path,
    *,
    source: str = "sklearn:iris",
    rounds: int = 5,
    seed: int = 0,
    scored: bool = False,
    shuffled_labels: bool = False,
) -> Path:
    """An XGBoost classifier artifact on a bundled dataset; ``rounds`` varies the model,
    ``seed`` the split (which rows train and become the baseline); ``scored``: its metrics
    are the real ones on the test split (else a fixed accuracy of 0.9); ``shuffled_labels``: it
    learns from training labels permuted across rows (seeded), a model that learnt nothing."""
    data = load_dataset(DatasetSpec(source=source, split=SplitSpec(seed=seed)))
    pre = Preprocessor.fit(data.train, data.feature_names, data.label, data.classes, scale=False)
    n_classes = len(data.classes)
    params = (
        {"objective": "multi:softprob", "num_class": n_classes}
        if n_classes > 2
        else {"objective": "binary:logistic"}
    )
    labels = pre.encode_label(data.train[data.label])
    if shuffled_labels:
        labels = np.random.default_rng(seed).permutation(labels)
    dtrain = xgb.DMatrix(
        pre.transform(data.train),
        label=labels,
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
    metrics = {"accuracy": 0.9}
    if scored:
        dtest = xgb.DMatrix(pre.transform(data.test), feature_names=data.feature_names)
        proba = booster.predict(dtest)
        proba = np.column_stack([1 - proba, proba]) if proba.ndim == 1 else proba
        metrics = classification_metrics(data.test[data.label].to_numpy(), proba, data.classes)
    return write_artifact(
        path,
        info,
        booster,
        metrics={**metrics, "rounds": float(rounds)},
        job={"name": "test", "rounds": rounds},
        lineage={"run_name": "test", "mlflow_run_id": ""},
        baseline=data.train,
    )


def torch_artifact(path: Path, *, source: str = "sklearn:iris", hidden: int = 8) -> Path:
    """A PyTorch MLP artifact (untrained, seeded weights) on a bundled dataset, its features
    standardised as training would: explanations only need a fixed, differentiable model."""
    import torch

    from ray_apps.learners.torch_learner import DEFAULT_MLP
    from ray_apps.training.models import TabularMLP

    data = load_dataset(DatasetSpec(source=source))
    pre = Preprocessor.fit(data.train, data.feature_names, data.label, data.classes, scale=True)
    torch.manual_seed(0)
    module = TabularMLP(len(data.feature_names), pre.n_outputs, hidden_sizes=[hidden]).eval()
    info = ModelInfo(
        kind="torch",
        task=data.task,
        label=data.label,
        features=[{"name": f.name, "dtype": f.dtype} for f in data.features],
        classes=data.classes,
        preprocessor=pre,
        class_path=DEFAULT_MLP,
        model_params={"hidden_sizes": [hidden]},
    )
    return write_artifact(
        path,
        info,
        module,
        metrics={"accuracy": 0.9},
        job={"name": "test"},
        lineage={"run_name": "test", "mlflow_run_id": ""},
        baseline=data.train,
    )
