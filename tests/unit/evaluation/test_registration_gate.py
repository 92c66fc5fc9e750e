"""The gate on registration, on the real registry (MLflow SQLite) and real XGBoost artifacts:
a model trained on shuffled labels is registered as Rejected with the reason; a good one stays
Pending for a person to approve."""

import json
from pathlib import Path

import pytest
from _factories import xgboost_artifact

from ray_apps import registry
from ray_apps.errors import DataError
from ray_apps.evaluation import register_evaluated, run_evaluation

SOURCE = "sklearn:breast_cancer"


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory):
    folder = tmp_path_factory.mktemp("gate")
    return {
        "good": xgboost_artifact(folder / "good", source=SOURCE, rounds=20),
        "bad": xgboost_artifact(folder / "bad", source=SOURCE, rounds=20, shuffled_labels=True),
    }


def spec(tmp_path):
    return {
        "data": {"source": SOURCE},
        "slices": {"columns": ["mean_radius"], "min_size": 10},
        "invariance": [{"feature": "mean_radius", "values": [10.0]}],
        "directional": [{"feature": "worst_area", "delta": 100, "direction": "decreasing"}],
        "thresholds": {"min": {"accuracy": 0.85}},
        "output": str(tmp_path / "reports"),
    }


def test_bad_model_registered_rejected_with_the_reason(tmp_path, artifacts):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    mv, result = register_evaluated(artifacts["bad"], "cancer", spec(tmp_path), tracking_uri=uri)
    assert not result.passed and result.report.overall["accuracy"] < 0.85
    assert result.reasons[0].startswith("accuracy 0.")
    assert (mv.ref, mv.status) == ("cancer:1", "Rejected")
    decision = registry.get_version("cancer", 1, tracking_uri=uri).history[-1]
    assert decision["by"] == "raymaker evaluate"
    assert decision["reason"].startswith(f"evaluation gate failed: {result.reasons[0]}")
    assert result.report_dir in decision["reason"]
    assert result.report_dir.startswith(str(tmp_path / "reports/model=cancer/version=1/"))
    saved = json.loads((Path(result.report_dir) / "report.json").read_text())
    assert saved["model"] == "cancer:1" and saved["gate"]["reasons"] == result.reasons
    assert (Path(result.report_dir) / "report.html").read_text().count("FAILED") == 1

    good, passed = register_evaluated(artifacts["good"], "cancer", spec(tmp_path), tracking_uri=uri)
    assert passed.passed and passed.report.overall["accuracy"] >= 0.85
    assert (good.ref, good.status, good.history) == ("cancer:2", "Pending", [])


def test_an_evaluation_that_errors_registers_nothing(tmp_path, artifacts):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    bad_data = {**spec(tmp_path), "data": {"source": "sklearn:iris"}}
    with pytest.raises(DataError, match="lacks the model's feature columns"):
        register_evaluated(artifacts["good"], "cancer", bad_data, tracking_uri=uri)
    assert registry.list_models(tracking_uri=uri) == []


def test_report_of_a_registered_version_and_strict_json(tmp_path, artifacts):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    registry.register(artifacts["good"], "cancer", tracking_uri=uri)
    result = run_evaluation({**spec(tmp_path), "model": "cancer:1", "tracking_uri": uri})
    r = result.report
    assert r.model == "cancer:1" and r.rows == 85 and r.calibration is not None
    assert sorted(s.size for s in r.slices) == [21, 21, 21, 22]  # quartiles of mean_radius
    assert r.slices[0].metrics["accuracy"] == min(s.metrics["accuracy"] for s in r.slices)
    assert r.robustness.levels[0].noise == 0.1
    text = (Path(result.report_dir) / "report.json").read_text()
    json.loads(text, parse_constant=lambda c: pytest.fail(f"{c} in report.json"))
    assert "/model=cancer/version=1/" in result.report_dir
