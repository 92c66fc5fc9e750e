"""``run_explain`` on the shared local Ray: an actor pool of explainers over a Parquet file,
per-row SHAP values that add up, importance JSON, summary PNG, and ``raymaker explain``."""

import json

import numpy as np
import pandas as pd
import pytest
from _factories import torch_artifact, xgboost_artifact

from ray_apps.artifact import load_model
from ray_apps.cli import main
from ray_apps.data import load_dataset
from ray_apps.explain import Explainer, run_explain
from ray_apps.explain.shap_values import column_names
from ray_apps.spec import DatasetSpec


@pytest.fixture(scope="module")
def cancer_parquet(tmp_path_factory):
    path = tmp_path_factory.mktemp("explain-data") / "cancer.parquet"
    data = load_dataset(DatasetSpec(source="sklearn:breast_cancer"))
    frame = pd.concat([data.train, data.valid, data.test], ignore_index=True)
    frame.to_parquet(path, index=False)
    return str(path)


def test_xgboost_batch_explanation_matches_single_process_shap(
    ray_session, tmp_path, cancer_parquet
):
    art = xgboost_artifact(tmp_path / "x", source="sklearn:breast_cancer", rounds=10)
    result = run_explain(
        {
            "model": "cancer:1",
            "artifact": str(art),
            "dataset": cancer_parquet,
            "rows": 300,
            "batch_size": 64,
            "output": str(tmp_path / "reports"),
        }
    )
    assert result.rows == 300 and result.method == "tree"
    folder = result.output_dir
    assert folder.parent.parent.name == "model=cancer" and folder.parent.name == "version=1"
    values = pd.read_parquet(folder / "shap_values.parquet")
    model = load_model(art)
    names = model.info.feature_names
    (out,) = result.outputs
    cols = column_names(names, result.outputs)[out]
    report = json.loads((folder / "importance.json").read_text())
    # Additivity per row, with the expected value the job recorded.
    total = values[cols].sum(axis=1) + report["expected_value"][out]
    assert np.abs(total - values["margin"]).max() < 1e-4
    # The same numbers as one process explaining the same rows (row order kept).
    rows = pd.read_parquet(cancer_parquet).head(300)
    local = Explainer(model).explain(rows)
    np.testing.assert_allclose(values[cols].to_numpy(), local.values[:, :, 0], atol=1e-5)
    # Global importance: mean |SHAP| per feature, largest first, every feature named.
    ranked = report["importance"][out]
    assert list(ranked) == sorted(ranked, key=lambda f: -ranked[f]) and set(ranked) == set(names)
    assert ranked[names[0]] == pytest.approx(np.abs(values[cols[0]]).mean(), rel=1e-6)
    assert (folder / "summary.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_raymaker_explain_cli_on_an_mlp(ray_session, tmp_path, capsys):
    art = torch_artifact(tmp_path / "t", source="sklearn:iris")
    data = tmp_path / "iris.csv"
    load_dataset(DatasetSpec(source="sklearn:iris")).test.to_csv(data, index=False)
    argv = ["explain", "iris:2", "--artifact", str(art), "--dataset", str(data)]
    main([*argv, "--rows", "12", "--output", str(tmp_path / "r"), "--no-plot"])
    out = capsys.readouterr().out
    assert "[raymaker] explained 12 rows" in out and "permutation SHAP" in out
    assert "score(0): mean |SHAP|" in out
    folder = next((tmp_path / "r").glob("model=iris/version=2/run=*"))
    assert len(pd.read_parquet(folder / "shap_values.parquet")) == 12
    assert not (folder / "summary.png").exists()
