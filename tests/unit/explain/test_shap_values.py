"""SHAP on real artifacts: additivity (values + expected value = the model's margin), what the
margin is, feature names, and that a feature the model ignores gets no credit."""

import numpy as np
import pandas as pd
import pytest
import torch
import xgboost as xgb
from _factories import torch_artifact, xgboost_artifact

from ray_apps.artifact import Model, load_model
from ray_apps.data import load_dataset
from ray_apps.errors import DataError
from ray_apps.explain import Explainer, Explanation
from ray_apps.spec import DatasetSpec

XGB_TOLERANCE = 1e-4  # the bound; TreeExplainer is exact (seen: ~3e-7)
# The permutation explainer telescopes exactly, up to the float32 forward pass of the MLP:
# 1e-4 absolute for scores, relative to the output's size for a regressor (seen: ~1e-7, and
# 5e-6 on outputs near 185).
MLP_TOLERANCE = 1e-4


def _rows(source: str, n: int | None = None):
    test = load_dataset(DatasetSpec(source=source)).test
    return test if n is None else test.head(n)


def _additivity_error(e: Explanation) -> np.ndarray:
    return np.abs(e.values.sum(axis=1) + e.expected_value - e.model_output)


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory):
    root = tmp_path_factory.mktemp("explain")
    return {
        ("xgboost", "iris"): xgboost_artifact(root / "xi", source="sklearn:iris"),
        ("xgboost", "cancer"): xgboost_artifact(root / "xc", source="sklearn:breast_cancer"),
        ("torch", "iris"): torch_artifact(root / "ti", source="sklearn:iris"),
        ("torch", "cancer"): torch_artifact(root / "tc", source="sklearn:breast_cancer"),
        ("torch", "diabetes"): torch_artifact(root / "td", source="sklearn:diabetes"),
    }


@pytest.mark.parametrize("dataset,outputs", [("iris", 3), ("cancer", 1)])
def test_xgboost_tree_shap_adds_up_to_the_margin(artifacts, dataset, outputs):
    model = load_model(artifacts["xgboost", dataset])
    rows = _rows(f"sklearn:{_source(dataset)}")
    e = Explainer(model).explain(rows)

    assert e.method == "tree"
    assert e.feature_names == model.info.feature_names
    assert e.values.shape == (len(rows), len(model.info.feature_names), outputs)
    assert _additivity_error(e).max() < XGB_TOLERANCE
    # The margin is XGBoost's own raw output, computed here through a DMatrix.
    d = xgb.DMatrix(rows[model.info.feature_names], feature_names=model.info.feature_names)
    own = model.predictor.predict(d, output_margin=True).reshape(len(rows), -1)
    np.testing.assert_allclose(e.model_output, own, rtol=1e-6, atol=1e-6)


def _source(name: str) -> str:
    return {"cancer": "breast_cancer"}.get(name, name)


@pytest.mark.parametrize("dataset,outputs", [("iris", 3), ("cancer", 1), ("diabetes", 1)])
def test_mlp_permutation_shap_adds_up_to_the_margin(artifacts, dataset, outputs):
    model = load_model(artifacts["torch", dataset])
    rows = _rows(f"sklearn:{_source(dataset)}", 15)
    e = Explainer(model).explain(rows)

    assert e.method == "permutation"
    assert e.values.shape == (15, len(model.info.feature_names), outputs)
    scale = np.maximum(1.0, np.abs(e.model_output))
    assert (_additivity_error(e) / scale).max() < MLP_TOLERANCE
    # The expected value is the mean margin over the background: 50 seeded baseline rows.
    background = pd.read_parquet(model.path / "baseline.parquet").sample(50, random_state=0)
    mean = Explainer(model).explain(background).model_output.mean(axis=0)
    np.testing.assert_allclose(e.expected_value, mean, rtol=1e-5, atol=1e-5)


def test_binary_margin_is_the_log_odds_of_the_second_class(artifacts):
    for kind in ("xgboost", "torch"):
        model = load_model(artifacts[kind, "cancer"])
        rows = _rows("sklearn:breast_cancer", 20)
        e = Explainer(model).explain(rows)
        assert e.outputs == [f"log-odds({model.info.classes[1]})"]
        p = 1 / (1 + np.exp(-e.model_output[:, 0]))
        np.testing.assert_allclose(p, model.predict_proba(rows)[:, 1], atol=1e-5)


def test_regressor_margin_is_the_prediction_in_label_units(artifacts):
    model = load_model(artifacts["torch", "diabetes"])
    rows = _rows("sklearn:diabetes", 10)
    e = Explainer(model).explain(rows)
    assert e.outputs == [model.info.label]
    np.testing.assert_allclose(e.model_output[:, 0], model.predict(rows), rtol=1e-5)


def test_a_feature_the_mlp_ignores_gets_zero_shap(artifacts):
    loaded = load_model(artifacts["torch", "iris"])
    module = loaded.predictor
    with torch.no_grad():
        module.net[0].weight[:, 2] = 0.0  # petal length no longer reaches the network
    model = Model(loaded.info, module, loaded.path)
    e = Explainer(model).explain(_rows("sklearn:iris", 10))
    assert np.all(e.values[:, 2, :] == 0.0)
    assert np.abs(e.values[:, [0, 1, 3], :]).sum() > 0


def test_importance_and_frame_name_every_feature(artifacts):
    model = load_model(artifacts["xgboost", "iris"])
    e = Explainer(model).explain(_rows("sklearn:iris"))
    names = model.info.feature_names
    assert e.importance().shape == (len(names), 3)
    np.testing.assert_allclose(e.importance(), np.abs(e.values).mean(axis=0))
    frame = e.frame()
    assert f"shap.score(0).{names[0]}" in frame.columns
    assert "margin.score(2)" in frame.columns and len(frame) == len(e.values)
    single = Explainer(load_model(artifacts["xgboost", "cancer"])).explain(
        _rows("sklearn:breast_cancer", 5)
    )
    assert list(single.frame().columns) == [
        *(f"shap.{n}" for n in single.feature_names),
        "margin",
    ]


def test_rows_without_a_feature_column_are_refused_naming_it(artifacts):
    model = load_model(artifacts["xgboost", "iris"])
    rows = _rows("sklearn:iris", 3).drop(columns=[model.info.feature_names[1]])
    with pytest.raises(DataError, match=model.info.feature_names[1]):
        Explainer(model).explain(rows)
