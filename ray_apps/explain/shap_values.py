"""The one module that talks to SHAP: an :class:`Explainer` built once per model, and the small
:class:`Explanation` it returns to the rest of raymaker.

What is explained is the model's *margin* (``Learner.margin``): the log-odds of the second class
for a two-class model, the per-class scores before softmax for more classes, the value for a
regressor. Margins add up exactly; probabilities do not. Values are in the user's raw feature
space (the columns of ``info.feature_names``, before the artifact's preprocessing), because the
preprocessing is part of the explained function.

How, per learner (its ``explainer`` hint, never its name):

tree         ``shap.TreeExplainer`` on the predictor, path-dependent (no background: the
             trees' cover is the reference distribution). Exact; additivity to float precision.
permutation  ``shap.PermutationExplainer`` over ``background_rows`` rows of the artifact's
             ``baseline.parquet``: model-agnostic, calls only ``margin``. Each permutation's
             contributions telescope from the background mean to the row's margin, so additivity
             holds to float precision too; the values themselves are estimates (``permutations``
             antithetic passes, each ``2 * features + 1`` margins per background row).

``shap`` is imported when an explainer is built, not when this module is.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ray_apps.artifact import Model
from ray_apps.errors import DataError

BACKGROUND_ROWS = 50
PERMUTATIONS = 10
BASELINE_FILE = "baseline.parquet"


@dataclass(frozen=True)
class Explanation:
    """SHAP values of some rows: ``values[r, f, o]`` is feature ``f``'s share of output ``o``
    for row ``r``; ``expected_value[o] + values[r, :, o].sum() == model_output[r, o]``."""

    feature_names: list[str]
    outputs: list[str]  # what each output is, e.g. "log-odds(malignant)"
    values: np.ndarray  # (rows, features, outputs)
    expected_value: np.ndarray  # (outputs,)
    model_output: np.ndarray  # (rows, outputs): the margins they add up to
    method: str  # "tree" | "permutation"
    margin_kind: str = "value"  # what the outputs are: see ``margin_kind``

    def importance(self) -> np.ndarray:
        """Global importance: mean |SHAP value| over rows, ``(features, outputs)``."""
        return np.abs(self.values).mean(axis=0)

    def frame(self) -> pd.DataFrame:
        """One row per explained row: ``shap.<feature>`` (one output) or
        ``shap.<output>.<feature>`` columns, and ``margin`` / ``margin.<output>``."""
        cols: dict[str, np.ndarray] = {}
        names = column_names(self.feature_names, self.outputs)
        for o, out in enumerate(self.outputs):
            for f, column in enumerate(names[out]):
                cols[column] = self.values[:, f, o]
        for o, out in enumerate(self.outputs):
            cols[margin_column(self.outputs, out)] = self.model_output[:, o]
        return pd.DataFrame(cols)


def column_names(features: list[str], outputs: list[str]) -> dict[str, list[str]]:
    """Output → the ``Explanation.frame`` column of each feature's SHAP value."""
    return {
        out: [("shap." if len(outputs) == 1 else f"shap.{out}.") + f for f in features]
        for out in outputs
    }


def margin_column(outputs: list[str], output: str) -> str:
    return "margin" if len(outputs) == 1 else f"margin.{output}"


class Explainer:
    """SHAP for one loaded model; build once (it may sample a background), explain many."""

    def __init__(
        self,
        model: Model,
        background: pd.DataFrame | None = None,
        *,
        background_rows: int = BACKGROUND_ROWS,
        permutations: int = PERMUTATIONS,
        seed: int = 0,
    ):
        shap = _import_shap()
        self.model, self.info = model, model.info
        self.method = model.learner.explainer
        self._permutations = permutations
        names = self.info.feature_names
        if self.method == "tree":
            self._shap: Any = shap.TreeExplainer(
                model.predictor, feature_perturbation="tree_path_dependent", feature_names=names
            )
        else:
            bg = _background(model, background, background_rows, seed)
            masker = shap.maskers.Independent(bg, max_samples=len(bg))
            self._shap = shap.PermutationExplainer(
                self._margin, masker, feature_names=names, seed=seed
            )

    def _margin(self, x: np.ndarray) -> np.ndarray:
        x = self.info.preprocessor.transform_array(x)
        return self.model.learner.margin(self.model.predictor, x, self.info)

    def explain(self, rows: pd.DataFrame) -> Explanation:
        """SHAP values of ``rows`` (a frame holding the model's feature columns)."""
        names = self.info.feature_names
        missing = [f for f in names if f not in rows.columns]
        if missing:
            raise DataError(f"rows lack the model's feature column(s) {missing[:10]}")
        x = rows[names].to_numpy(dtype=np.float64)
        margin = self._margin(x)
        n_features = len(names)
        if self.method == "tree":
            x = self.info.preprocessor.transform_array(x)
            out = self._shap(x)
        else:
            # One antithetic permutation costs 2n+1 margins per background row.
            evals = self._permutations * (2 * n_features + 1)
            out = self._shap(x, max_evals=evals, silent=True)
        values = np.asarray(out.values, dtype=np.float64).reshape(len(x), n_features, -1)
        base = np.asarray(out.base_values, dtype=np.float64).reshape(len(x), -1)
        return Explanation(
            feature_names=list(names),
            outputs=output_names(self.info),
            values=values,
            expected_value=base[0] if len(base) else np.zeros(margin.shape[1]),
            model_output=margin,
            method=self.method,
            margin_kind=margin_kind(self.info),
        )


def _import_shap():
    # shap 0.51 sets matplotlib colormap extremes at import in a way matplotlib marks as
    # pending deprecation: noise for a user, nothing they can act on.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        import shap
    return shap


def _background(model: Model, given: pd.DataFrame | None, rows: int, seed: int) -> np.ndarray:
    names = model.info.feature_names
    if given is None:
        if model.path is None or not (model.path / BASELINE_FILE).is_file():
            raise DataError(
                "this model has no baseline.parquet to explain against; load it from its "
                "artifact folder, or pass background rows"
            )
        given = pd.read_parquet(model.path / BASELINE_FILE, columns=names)
    if len(given) == 0:
        raise DataError("the background sample is empty; give at least one row")
    sample = given.sample(min(rows, len(given)), random_state=seed)
    return sample[names].to_numpy(dtype=np.float64)


def margin_kind(info) -> str:
    """What the explained outputs are: ``log-odds`` (two classes, of the second), ``scores``
    (per class, before softmax) or ``value`` (a regressor's prediction)."""
    if info.task == "regression":
        return "value"
    return "log-odds" if len(info.classes) == 2 else "scores"


def output_names(info) -> list[str]:
    """What each explained output is (``Learner.margin``'s columns)."""
    if info.task == "regression":
        return [str(info.label)]
    if len(info.classes) == 2:  # two classes, one margin: the second class's log-odds
        return [f"log-odds({info.classes[1]})"]
    return [f"score({c})" for c in info.classes]
