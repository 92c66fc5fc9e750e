"""Evaluation metrics of a trained model on held-out rows."""

from __future__ import annotations

import numpy as np
from sklearn import metrics as skm


def classification_metrics(
    y_true: np.ndarray, proba: np.ndarray, classes: list
) -> dict[str, float]:
    """accuracy, F1 (binary, or macro for multi-class), ROC AUC (one-vs-rest) and log loss."""
    index = {c: i for i, c in enumerate(classes)}
    y = np.asarray([index[v] for v in np.asarray(y_true).tolist()])
    proba = np.clip(np.asarray(proba, dtype=np.float64), 1e-15, 1.0)
    proba = proba / proba.sum(axis=1, keepdims=True)
    pred = proba.argmax(axis=1)
    labels = list(range(len(classes)))
    binary = len(classes) == 2
    out = {
        "accuracy": float(skm.accuracy_score(y, pred)),
        "f1": float(skm.f1_score(y, pred, average="binary" if binary else "macro")),
        "log_loss": float(skm.log_loss(y, proba, labels=labels)),
    }
    try:
        out["roc_auc"] = float(
            skm.roc_auc_score(y, proba[:, 1])
            if binary
            else skm.roc_auc_score(y, proba, multi_class="ovr", labels=labels)
        )
    except ValueError:  # a class absent from a small test split: AUC is undefined
        out["roc_auc"] = float("nan")
    return out


def regression_metrics(y_true: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    """RMSE, MAE and R²."""
    y = np.asarray(y_true, dtype=np.float64)
    p = np.asarray(pred, dtype=np.float64)
    return {
        "rmse": float(np.sqrt(skm.mean_squared_error(y, p))),
        "mae": float(skm.mean_absolute_error(y, p)),
        "r2": float(skm.r2_score(y, p)),
    }
