"""The explainer actor of ``run_explain``, built in process: one xgboost thread each (the pool
is sized to the cores), and each output's expected value beside the SHAP values."""

import json

import pandas as pd
from _factories import xgboost_artifact

from ray_apps.data import load_dataset
from ray_apps.explain import Explainer
from ray_apps.explain.job import _EXPECTED, _ExplainActor
from ray_apps.spec import DatasetSpec


def test_an_actor_explains_with_one_thread_and_carries_the_expected_values(tmp_path):
    art = xgboost_artifact(tmp_path / "x", source="sklearn:iris")
    actor = _ExplainActor(str(art), background_rows=10, permutations=1)
    booster = actor.explainer.model.predictor
    config = json.loads(booster.save_config())["learner"]["generic_param"]
    assert config["nthread"] == "1"

    rows = load_dataset(DatasetSpec(source="sklearn:iris")).test.head(7)
    out = actor(rows)
    local = Explainer(actor.explainer.model).explain(rows)
    expected = [c for c in out.columns if c.startswith(_EXPECTED)]
    assert len(expected) == 3 and len(out) == 7  # one per class of iris
    pd.testing.assert_series_equal(
        out[expected].iloc[0], pd.Series(local.expected_value, index=expected), check_names=False
    )
