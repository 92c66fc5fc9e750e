"""One small real world for the console's tests, built in-process without Ray:

* a training run (torch on breast cancer, 3 epochs, a health rule) in its own run storage;
* its artifact registered twice in a fresh SQLite MLflow registry: version 1 Approved,
  version 2 registered through the evaluation gate (passed: Pending, with its report);
* a judged monitor window and a pipeline run record under the same storage.

``log_in`` posts the login form as a browser does (its token and cookie first);
``console_process`` runs the real ``raymaker console`` command (``world_env``: on the world).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from starlette.testclient import TestClient

from console import ConsoleSettings

ADMIN_KEY = "admin-6f1d2c9e8b7a6f5e4d3c2b1a"
VIEWER_KEY = "viewer-0a1b2c3d4e5f6a7b8c9d0e1f"
ENV = {"RAYMAKER_ADMIN_KEYS": ADMIN_KEY, "RAYMAKER_VIEWER_KEYS": VIEWER_KEY}
MODEL = "cancer"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@dataclass(frozen=True)
class World:
    root: Path
    storage: str
    tracking_uri: str
    evaluation_root: str
    monitor_root: str
    run_name: str
    pipeline_run: str

    def settings(self, **changes) -> ConsoleSettings:
        places = {
            "storage": self.storage,
            "tracking_uri": self.tracking_uri,
            "evaluation_root": self.evaluation_root,
            "monitor_root": self.monitor_root,
        }
        return ConsoleSettings(**{**places, **changes})

    def registry_copy(self, folder: Path) -> str:
        """A copy of the registry for one test to change (the versions keep their artifacts)."""
        shutil.copy(self.root / "mlflow.db", folder / "mlflow.db")
        return f"sqlite:///{folder / 'mlflow.db'}"


def build_world(root: Path) -> World:
    """Train, register, evaluate and record into ``root`` (about 10 s), refusing Ray."""
    import ray

    with pytest.MonkeyPatch.context() as env:
        env.setenv("RAYMAKER_MLFLOW_ARTIFACTS", str(root / "mlflow-artifacts"))  # not ./mlruns
        # A session fixture starts before tests/unit/conftest.py's per-test refusal: refuse here.
        env.setattr(ray, "init", _refuse_ray)
        w = World(
            root=root,
            storage=str(root / "runs"),
            tracking_uri=f"sqlite:///{root / 'mlflow.db'}",
            evaluation_root=str(root / "evaluation"),
            monitor_root=str(root / "monitor"),
            run_name="",
            pipeline_run="",
        )
        run_name = _train_and_register(w)
        pipeline_run = _pipeline_record(w)
        _monitor_window(w)
    return replace(w, run_name=run_name, pipeline_run=pipeline_run)


def _refuse_ray(*args, **kwargs):
    raise RuntimeError("the console's test world must not start Ray")


def _train_and_register(w: World) -> str:
    from ray_apps import registry
    from ray_apps.evaluation import register_evaluated
    from ray_apps.training import run_training

    result = run_training(
        {
            "name": "cancer-mlp",
            "dataset": {"source": "sklearn:breast_cancer"},
            "model": {"kind": "torch", "params": {"hidden_sizes": [16]}},
            "hyperparameters": {"epochs": 3, "batch_size": 64, "lr": 0.01},
            "scaling": {"num_workers": 1},
            "storage": w.storage,
            "tracking": {"uri": w.tracking_uri},
            "health": {"rules": ["loss_not_decreasing", "nonfinite"]},
        }
    )
    v1 = registry.register(result.artifact_path, MODEL, tracking_uri=w.tracking_uri)
    registry.approve(MODEL, v1.version, by="tests", reason="baseline", tracking_uri=w.tracking_uri)
    v2, _ = register_evaluated(
        result.artifact_path,
        MODEL,
        {
            "data": {"source": "sklearn:breast_cancer"},
            "thresholds": {"min": {"accuracy": 0.5}},
            "output": w.evaluation_root,
        },
        tracking_uri=w.tracking_uri,
    )
    assert (v1.version, v2.version, v2.status) == (1, 2, "Pending")
    return result.run_name


def _pipeline_record(w: World) -> str:
    from pipelines import load_pipeline
    from pipelines.record import RunRecord, RunStore, StepRecord

    spec = load_pipeline(
        {
            "name": "retrain",
            "steps": {
                "gate": {
                    "kind": "condition",
                    "with": {"all": [{"left": 1, "op": "<", "right": 2}]},
                },
                "stop": {"kind": "fail", "after": ["gate"], "with": {"message": "closed"}},
            },
        }
    )
    run = RunRecord(
        run_id="retrain-20260101-000000000-abcdef",
        pipeline="retrain",
        spec=spec.model_dump(mode="json", by_alias=True, exclude_none=True),
        parameters={},
        created_at=1_767_225_600.0,
        state="succeeded",
        trigger="manual",
    )
    store = RunStore(w.storage)
    store.save_run(run)
    store.save_step(run.run_id, "gate", StepRecord(state="succeeded", started_at=1.0, ended_at=2.0))
    store.save_step(run.run_id, "stop", StepRecord(state="skipped", reason="gate passed"))
    return run.run_id


def _monitor_window(w: World) -> None:
    """A summary as the monitor job writes it: its observations and the verdict decided on them."""
    import json

    from ray_apps.monitoring import MonitorSummary, Thresholds, Window, decide
    from ray_apps.monitoring._evidently import ColumnDrift

    window = Window("capture", "/capture", datetime(2026, 1, 1, tzinfo=UTC), None)
    summary = MonitorSummary(
        model=MODEL,
        version="1",
        window=window,
        rows=200,
        failed_rows=0,
        reference_rows=300,
        reference_source="training data",
        p_value_threshold=0.025,
        columns=[
            ColumnDrift("mean radius", "numeric", "ks", 0.001, 0.025, True),
            ColumnDrift("mean texture", "numeric", "ks", 0.6, 0.025, False),
        ],
    )
    verdict = decide(summary, Thresholds(), datetime(2026, 1, 2, tzinfo=UTC))
    folder = Path(w.monitor_root) / f"model={MODEL}/version=1/window={window.key}"
    folder.mkdir(parents=True)
    record = {**summary.to_dict(), "verdict": verdict.to_dict()}
    (folder / "summary.json").write_text(json.dumps(record, default=str))
    (folder / "report.html").write_text("<html><body>evidently report</body></html>")


def log_in(client: TestClient, key: str, next_page: str = "/models"):
    form = client.get("/login")
    token = CSRF.search(form.text).group(1)
    return client.post("/login", data={"key": key, "csrf": token, "next": next_page})


def csrf_of(page_html: str) -> str:
    return CSRF.search(page_html).group(1)


def world_env(world: World, registry_uri: str) -> dict[str, str]:
    """The environment a ``raymaker console`` process reads ``world`` with."""
    return {
        **ENV,
        "RAYMAKER_HOME": str(world.root),  # monitor/ and evaluation/ where the world wrote them
        "RAYMAKER_STORAGE": world.storage,
        "MLFLOW_TRACKING_URI": registry_uri,
    }


@contextmanager
def console_process(log: Path, env: dict[str, str], *args: str):
    """``raymaker console`` (the real command, ``python -m ray_apps.cli``) on a free loopback
    port with ``env`` over this process's; yields its base URL and port, stops it after."""
    from _serve_helpers import wait_for
    from _sockets import free_port

    port = free_port()
    command = [sys.executable, "-m", "ray_apps.cli", "console", "--port", str(port), *args]
    with log.open("w") as out:
        proc = subprocess.Popen(
            command, env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT
        )
    base = f"http://127.0.0.1:{port}"

    def up() -> bool:
        if proc.poll() is not None:
            raise AssertionError(f"raymaker console exited {proc.returncode}: {log.read_text()}")
        try:
            return httpx.get(f"{base}/login", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_for(up, 60, f"raymaker console to answer on {base}")
        yield base, port
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
