"""The closed loop on real Ray and Serve, through ``examples/pipeline_closed_loop.yaml``:
shifted traffic on an endpoint → the monitor's alert → a tuning job warm-started (transfer) from
the serving version's own tuning job → both versions scored on fresh labelled data → the
candidate registered Pending and approved by rule → a guarded canary that promotes it → the
endpoint serves the new version. Lineage runs from the alert to the served version in MLflow;
a second alert while the loop runs starts nothing."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from pathlib import Path

import httpx
import pytest
import yaml
from _serve_helpers import PORT, WORKER_ADMIN_ENV, WORKER_ADMIN_KEY, wait_for
from mlflow.tracking import MlflowClient
from sklearn.datasets import load_breast_cancer

from pipelines.record import RunStore
from ray_apps import read_capture, registry, settings, tracking
from ray_apps.cli import main
from ray_apps.errors import NotFoundError
from serve import deploy
from tuning import leaderboard, run_tuning

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "pipeline_closed_loop.yaml"
MODEL = ENDPOINT = "loop"
ETA = {"type": "loguniform", "low": 0.05, "high": 0.5}


def _tune_job(name: str, train_csv: Path, rounds: int, depth: int) -> dict:
    return {
        "name": name,
        "train": {
            "name": f"{name}-train",
            "dataset": {"source": str(train_csv), "label": "target"},
            "model": {"kind": "xgboost"},
            "hyperparameters": {"rounds": rounds, "params": {"max_depth": depth}},
        },
        "search_space": {"hyperparameters.params.eta": ETA},
        "objective": {"metric": "valid_logloss", "mode": "min"},
        # Seeded, so the loop's verdict does not hang on which eta the searcher drew (one run
        # in eight failed unseeded, its cause not captured; suspected: a candidate that did
        # not pass the gate).
        "strategy": {"searcher": "random", "scheduler": "fifo", "seed": 0},
        "budget": {"max_trials": 2, "max_concurrent": 2},
    }


class Load:
    """One client, ~15 requests a second, for at most ``max_s``: every status seen."""

    def __init__(self, base: str, rows: list[dict], max_s: float):
        self.base, self.rows, self.max_s = base, rows, max_s
        self.seen: list[tuple[float, int, str]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run)

    def __enter__(self) -> Load:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        end = time.monotonic() + self.max_s
        with httpx.Client(base_url=self.base, timeout=30) as c:
            i = 0
            while not self._stop.wait(0.06) and time.monotonic() < end:
                body = {"instances": [self.rows[i % len(self.rows)]]}
                r = c.post(f"/{ENDPOINT}/v1/models/{MODEL}:predict", json=body)
                version = r.json().get("model_version", "") if r.status_code == 200 else ""
                self.seen.append((time.time(), r.status_code, str(version)))
                i += 1


@pytest.fixture()
def kill_loop_driver():
    """A failed test must not leave the loop's driver running: kill it by its trigger record."""
    yield
    record = RunStore(None).read_json(f"_triggers/{ENDPOINT}.json") or {}
    if record.get("pid"):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(record["pid"], signal.SIGKILL)


def test_drift_retunes_gates_approves_and_canaries_the_new_version(
    tmp_path, endpoint, ray_session, monkeypatch, capsys, kill_loop_driver
):
    stages: dict[str, float] = {}
    frame = load_breast_cancer(as_frame=True).frame.sample(frac=1.0, random_state=0)
    train_csv, fresh_csv = tmp_path / "train.csv", tmp_path / "fresh.csv"
    frame.iloc[:400].to_csv(train_csv, index=False)
    frame.iloc[400:].to_csv(fresh_csv, index=False)
    features = frame.drop(columns="target")

    # The serving version: a weak model (2 stumps) from a tuning job, approved and deployed.
    t0 = time.monotonic()
    serving_tune = run_tuning(_tune_job("loop-serving", train_csv, rounds=2, depth=1))
    v1 = registry.register(serving_tune.artifact_path, MODEL)
    registry.approve(MODEL, v1.version, by="tests", reason="the serving version")
    capture = {"percent": 100, "flush_interval_s": 0.5, "path": str(tmp_path / "capture")}
    spec = {
        "name": ENDPOINT,
        "route_prefix": f"/{ENDPOINT}",
        "capture": capture,
        "auth": {"admin_key_envs": [WORKER_ADMIN_ENV]},
        "pipelines": {"retrain": str(EXAMPLE)},  # what POST /admin/pipelines/retrain:run starts
    }
    deploy({**spec, "models": [{"name": MODEL, "version": v1.version}]}, port=PORT)
    stages["setup (serving tune, register, deploy)"] = time.monotonic() - t0

    # Shifted traffic: every feature three times its usual size.
    shifted = (features.iloc[:80] * 3.0).to_dict(orient="records")
    with httpx.Client(base_url=endpoint, timeout=30) as c:
        r = c.post(f"/{ENDPOINT}/v1/models/{MODEL}:predict", json={"instances": shifted})
        assert r.status_code == 200, r.text
    wait_for(lambda: _captured(tmp_path / "capture") >= 80, 30, "the shifted rows captured")

    # The monitor's alert starts the loop (its driver joins this Ray).
    candidate_tune = tmp_path / "tune.yaml"
    candidate_tune.write_text(yaml.safe_dump(_tune_job("loop-retune", train_csv, 30, 3)))
    canary = tmp_path / "canary.yaml"
    canary.write_text(
        yaml.safe_dump(
            {
                "endpoint": "placeholder",  # the pipeline sets it from its parameter
                "candidate": "placeholder:1",
                "strategy": "canary",
                "steps": [50, 100],
                "bake_s": 4,
                "max_hold_s": 120,
                "guardrails": {"min_requests": 10, "p99_slack_ms": 1000},
                "num_cpus": 0.25,
                "autoscaling": {"min_replicas": 1, "max_replicas": 1},
            }
        )
    )
    parameters = {
        "endpoint": ENDPOINT,
        "data": str(fresh_csv),
        "tune_config": str(candidate_tune),
        "rollout_config": str(canary),
        "margin": 0.001,
    }
    alert = {"serving": "${alert.model}", "model": "${alert.name}"}
    monitor = tmp_path / "monitor.yaml"
    monitor.write_text(
        yaml.safe_dump(
            {
                "model": f"{MODEL}:{v1.version}",
                "current": {"capture": str(tmp_path / "capture")},
                "thresholds": {"min_rows": 30},
                "on_alert": {
                    "pipeline": str(EXAMPLE),
                    "key": ENDPOINT,
                    "parameters": {**alert, **parameters},
                },
            }
        )
    )
    monkeypatch.setenv("RAY_ADDRESS", ray_session)
    argv = ["monitor", "--config", str(monitor), "--no-html", "--output", str(tmp_path / "mon")]
    t_alert = time.monotonic()
    first = _cli(argv, capsys)
    assert first[0] == 3 and "on_alert: loop: started pipeline closed-loop" in first[1], first
    second = _cli(argv, capsys)  # the same alert again while the loop runs: nothing starts
    assert second[0] == 3 and "is still running" in second[1], second
    assert "nothing started" in second[1], second
    # ... nor does an admin's POST of the endpoint's retrain pipeline (same key: the endpoint).
    by_hand = {"parameters": {"serving": f"{MODEL}:1", "model": MODEL, **parameters}}
    with httpx.Client(base_url=endpoint, timeout=60) as c:
        run_url = f"/{ENDPOINT}/admin/pipelines/retrain:run"
        assert c.post(run_url, json=by_hand).status_code in (401, 403)  # admin only
        r = c.post(run_url, json=by_hand, headers={"Authorization": f"Bearer {WORKER_ADMIN_KEY}"})
    assert r.status_code == 202 and r.json()["status"] == "already_running", r.text

    store = RunStore(None)
    normal = features.iloc[80:].to_dict(orient="records")
    with Load(endpoint, normal, max_s=420) as load:

        def ended():
            runs = [r for r in store.list_runs() if r.startswith("closed-loop-")]
            return runs and store.load(runs[-1]).state != "running" and runs

        runs = wait_for(ended, 420, "the closed loop's run to end", interval_s=1)
        stages["alert → loop ended"] = time.monotonic() - t_alert
        promoted_at = time.time()
        wait_for(lambda: load.seen and load.seen[-1][0] > promoted_at + 1, 30, "answers after it")
    assert len(runs) == 1, runs  # the second alert started no second loop
    run = store.load(runs[0])
    log = Path(store.local_root, "_triggers", f"{ENDPOINT}.log")
    assert run.state == "succeeded", (
        {s: (r.state, r.error or r.reason) for s, r in run.steps.items()},
        log.read_text()[-3000:],
    )
    for step, record in run.steps.items():
        if record.duration_s is not None:
            stages[f"step {step}"] = record.duration_s
    print("closed loop stages (s):", {k: round(v, 1) for k, v in stages.items()})

    # Retuned from the serving version's own tuning job (transfer: its best trial seeds it).
    retune = run.steps["retune"].outputs
    board = leaderboard.load(f"{settings.storage_path()}/{retune['run_name']}")
    parents = {row["source"] for row in board if row["source"] != "this job"}
    assert parents == {f"parent {serving_tune.run_name}"}, parents
    # Scored on the fresh data; the candidate won by the margin, so the rule approved it.
    cand = run.steps["score_candidate"].outputs["metrics"]["roc_auc"]
    serv = run.steps["score_serving"].outputs["metrics"]["roc_auc"]
    assert cand >= serv + 0.001 and run.steps["beats_serving"].outputs == {"passed": True}
    assert run.steps["rejected"].state == "skipped" and run.steps["below_gate"].state == "skipped"
    v2 = registry.get_version(MODEL, run.steps["register"].outputs["version"])
    assert v2.version == v1.version + 1 and v2.status == "Approved"
    assert v2.history[-1]["by"] == f"pipeline:{run.run_id}/approval", v2.history
    assert v2.lineage["pipeline_run"] == run.run_id and v2.lineage["pipeline_step"] == "register"
    # The canary promoted it: the endpoint answers with the new version, and nothing failed.
    assert run.steps["canary"].outputs["promoted"] is True, run.steps["canary"].outputs
    after = [s for s in load.seen if s[0] > promoted_at]
    assert after and {(s[1], s[2]) for s in after} == {(200, str(v2.version))}, after[:5]
    assert not [s for s in load.seen if s[1] >= 500], [s for s in load.seen if s[1] >= 500][:5]

    # Lineage in MLflow: the pipeline run names the alert; its canary step names the version.
    client = MlflowClient(tracking_uri=tracking.resolve_uri(None))
    parent = client.get_run(run.mlflow_run_id)
    assert parent.data.tags["raymaker.trigger"].startswith(f"{ENDPOINT}: monitor {MODEL}:1"), (
        parent.data.tags
    )
    steps = client.search_runs(
        [parent.info.experiment_id],
        filter_string=f"tags.mlflow.parentRunId = '{run.mlflow_run_id}'",
    )
    by_step = {r.data.tags["raymaker.step"]: r for r in steps}
    assert by_step["canary"].data.params["input.candidate"] == f"{MODEL}:{v2.version}"
    assert by_step["canary"].data.params["output.promoted"] == "True"


def _captured(root: Path) -> int:
    try:
        return len(read_capture(root, MODEL))
    except NotFoundError:  # the replica has not flushed its first file yet
        return 0


def _cli(argv: list[str], capsys) -> tuple[int, str]:
    code = 0
    try:
        main(argv)
    except SystemExit as exited:
        code = exited.code
    return code, capsys.readouterr().out
