"""No credential held in the environment ends up in what a training run records.

Credentials live in environment variables (README, "Credentials"): the Ray token, inference and
admin API keys, the database password, object-store keys. A run records a lot — MLflow params
(the flattened job spec), tags and metrics, the artifact (lineage, job spec, manifest), the run
log, the driver's output and Ray's session logs — and none of it may hold one of those values.
The test plants unique values and searches every byte the run wrote for them.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

PLANTED = (
    "RAYMAKER_API_KEYS",
    "RAYMAKER_ADMIN_KEYS",
    "RAYMAKER_CALLBACK_SECRET",
    "PGPASSWORD",
    "AWS_SECRET_ACCESS_KEY",
)


def files_holding(root: Path, values: dict[str, str]) -> dict[str, list[str]]:
    hits: dict[str, list[str]] = {}
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            data = path.read_bytes()
            for name, value in values.items():
                if value.encode() in data:
                    hits.setdefault(name, []).append(str(path))
    return hits


@pytest.fixture()
def planted(monkeypatch):
    values = {name: f"planted-{secrets.token_hex(16)}" for name in PLANTED}
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


def test_a_training_run_records_no_credential(ray_session, raymaker_home, planted, capfd):
    import ray
    from mlflow.tracking import MlflowClient

    from ray_apps import run_training

    result = run_training(
        {
            "name": "no-secrets",
            "dataset": {"source": "sklearn:breast_cancer"},
            "model": {"kind": "xgboost"},
            "hyperparameters": {"rounds": 2, "params": {"max_depth": 2}},
            "scaling": {"num_workers": 1},
        }
    )
    out, err = capfd.readouterr()
    run = MlflowClient(result.tracking_uri).get_run(result.mlflow_run_id)
    recorded = " ".join(
        f"{k}={v}" for d in (run.data.params, run.data.tags, run.data.metrics) for k, v in d.items()
    )
    assert run.data.params  # the job spec is there, so the search below has something to read
    for name, value in planted.items():
        assert value not in recorded, f"{name} in the MLflow run"
        assert value not in out + err, f"{name} in the driver's output"
    # The run folder, the artifact and the MLflow store (params, tags, registry), byte by byte.
    assert files_holding(raymaker_home, planted) == {}
    assert (Path(result.artifact_path) / "MANIFEST.json").exists()
    session = Path(ray._private.worker._global_node.get_session_dir_path())
    assert files_holding(session / "logs", planted) == {}
