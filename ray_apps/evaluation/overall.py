"""Overall metrics of a model's predictions on labelled rows (pure numpy and scikit-learn).

Classification: accuracy, F1 (binary, or macro over the classes), log loss, and for two
classes ROC AUC and the Brier score of the second class's probability. Regression: RMSE, MAE,
R². A metric a sample cannot define (AUC of a one-class slice, R² of one row) is NaN, never
an error: slices are small by design.
"""

from __future__ import annotations

import math

import numpy as np
from sklearn import metrics as skm

from ray_apps.errors import SpecError

# name -> (task, higher is better)
METRICS: dict[str, tuple[str, bool]] = {
    "accuracy": ("classification", True),
    "f1": ("classification", True),
    "log_loss": ("classification", False),
    "roc_auc": ("classification", True),
    "brier": ("classification", False),
    "rmse": ("regression", False),
    "mae": ("regression", False),
    "r2": ("regression", True),
}
DEFAULT_METRIC = {"classification": "accuracy", "regression": "rmse"}


def check_metric(name: str | None, task: str, field: str = "metric") -> str:
    """``name`` (or the task's default) if it is a metric of ``task``; SpecError otherwise."""
    name = name or DEFAULT_METRIC[task]
    if METRICS[name][0] != task:
        valid = sorted(m for m, (t, _) in METRICS.items() if t == task)
        raise SpecError(f"{field}: {name!r} is not a {task} metric; use one of {valid}")
    return name


def metrics_for(
    task: str, y_true, predictions, proba: np.ndarray | None = None, classes: list | None = None
) -> dict[str, float]:
    """Every metric of ``task`` for these rows: ``proba`` columns follow ``classes``."""
    if task == "regression":
        return _regression(np.asarray(y_true, dtype=float), np.asarray(predictions, dtype=float))
    return _classification(np.asarray(y_true), np.asarray(predictions), proba, list(classes or []))


def worsening(metric: str, reference: float, value: float) -> float:
    """How much worse ``value`` is than ``reference`` (> 0 worse, < 0 better)."""
    return reference - value if METRICS[metric][1] else value - reference


def worst_first_key(metric: str):
    """A sort key putting the worst value of ``metric`` first and NaN last."""
    higher = METRICS[metric][1]
    return lambda v: (math.isnan(v), v if higher else -v)


def _classification(y, pred, proba, classes) -> dict[str, float]:
    n = len(y)
    out = {"accuracy": float(np.mean(y == pred)) if n else math.nan}
    binary = len(classes) == 2
    labels = classes if classes else sorted(set(y.tolist()) | set(pred.tolist()))
    if n:
        average = "binary" if binary else "macro"
        kw = {"pos_label": classes[1]} if binary else {"labels": labels}
        out["f1"] = float(skm.f1_score(y, pred, average=average, zero_division=0, **kw))
    else:
        out["f1"] = math.nan
    if proba is None or not n:
        return out
    p = np.clip(np.asarray(proba, dtype=float), 1e-15, 1.0)
    p = p / p.sum(axis=1, keepdims=True)
    out["log_loss"] = float(skm.log_loss(y, p, labels=classes))
    if binary:
        positive = (y == classes[1]).astype(float)
        out["brier"] = float(np.mean((p[:, 1] - positive) ** 2))
        both = 0 < positive.sum() < n
        out["roc_auc"] = float(skm.roc_auc_score(positive, p[:, 1])) if both else math.nan
    return out


def _regression(y, p) -> dict[str, float]:
    if not len(y):
        return {"rmse": math.nan, "mae": math.nan, "r2": math.nan}
    err = p - y
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    return {
        "rmse": float(np.sqrt(np.mean(err**2))),
        "mae": float(np.mean(np.abs(err))),
        "r2": 1.0 - float(np.sum(err**2)) / ss_tot if ss_tot > 0 else math.nan,
    }
