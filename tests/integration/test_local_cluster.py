"""``raymaker up`` / ``raymaker down``: a warm local Ray that later commands join.

Everything runs as a user runs it, through the CLI in subprocesses, with a RAYMAKER_HOME and
a HOME of the test's own (nothing of the session's Ray, nothing in the user's home): up, up
again, a tuning job that joins the cluster instead of starting a Ray, an endpoint deployed on
it that stays up after ``raymaker deploy`` returns, then down, which leaves no process of the
cluster behind, and down again.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time

import httpx
import psutil
import yaml
from _factories import xgboost_artifact
from _sockets import free_port

from ray_apps import registry

ROWS = [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]


def _raymaker(env: dict[str, str], *args: str, timeout: float = 300) -> tuple[int, str]:
    done = subprocess.run(
        [sys.executable, "-m", "ray_apps.cli", *args],
        env=env,
        cwd=env["RAYMAKER_HOME"],  # a user's project folder: MLflow's ./mlruns lands there
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return done.returncode, done.stdout + done.stderr


def _cluster_processes(temp_dir: str) -> list[psutil.Process]:
    found = []
    for p in psutil.process_iter(["cmdline", "status"]):
        try:
            if p.info["status"] != psutil.STATUS_ZOMBIE and any(
                temp_dir in arg for arg in p.info["cmdline"] or []
            ):
                found.append(p)
        except psutil.Error:
            continue
    return found


def test_up_then_commands_join_it_and_down_leaves_nothing(tmp_path, monkeypatch):
    home, user_home = tmp_path / "home", tmp_path / "user"
    user_home.mkdir()
    home.mkdir()
    monkeypatch.setenv("RAYMAKER_HOME", str(home))  # the registry below writes there too
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    env.update(RAYMAKER_HOME=str(home), HOME=str(user_home), COLUMNS="200")

    rc, out = _raymaker(env, "up", "--cpus", "4")
    assert rc == 0, out
    assert "local cluster up in" in out and "ingress: HAProxy" in out, out
    record = home / "ray-cluster.json"
    assert stat.S_IMODE(record.stat().st_mode) == 0o600  # it holds the cluster's token
    cluster = yaml.safe_load(record.read_text())
    assert cluster["address"].startswith("127.0.0.1:") and cluster["cpus"] == 4
    try:
        rc, again = _raymaker(env, "up")
        assert rc == 0 and f"already up: {cluster['address']}" in again, again

        # A tuning job joins it: no Ray of its own, and the cluster is still up afterwards.
        tune = {
            "name": "warm-tune",
            "train": {
                "name": "warm-train",
                "dataset": {"source": "sklearn:breast_cancer"},
                "model": {"kind": "xgboost"},
                "hyperparameters": {"rounds": 10},
            },
            "search_space": {
                "hyperparameters.params.eta": {"type": "uniform", "low": 0.1, "high": 0.5}
            },
            "objective": {"metric": "valid_logloss", "mode": "min"},
            "strategy": {"searcher": "random", "scheduler": "fifo", "seed": 0},
            "budget": {"max_trials": 3},
            "trial": {"mode": "ray"},  # on Ray Tune, which joins the cluster
        }
        (tmp_path / "tune.yaml").write_text(yaml.safe_dump(tune))
        started = time.monotonic()
        rc, out = _raymaker(env, "tune", "--config", str(tmp_path / "tune.yaml"))
        print(f"tune of 3 trials on the warm cluster: {time.monotonic() - started:.1f} s")
        assert rc == 0, out
        assert f"joined the local cluster of raymaker up ({cluster['address']})" in out, out
        assert "local Ray started" not in out
        assert _cluster_processes(cluster["temp_dir"]), "the cluster went down with the job"

        # An endpoint deployed on it stays up after raymaker deploy returns.
        mv = registry.register(xgboost_artifact(tmp_path / "art"), "warm-iris")
        registry.approve(mv.name, mv.version, by="tests")
        port = free_port()
        spec = {"name": "warm-ep", "models": [{"name": "warm-iris"}], "num_cpus": 0.25}
        (tmp_path / "ep.yaml").write_text(yaml.safe_dump(spec))
        rc, out = _raymaker(
            env, "deploy", "--config", str(tmp_path / "ep.yaml"), "--port", str(port)
        )
        assert rc == 0, out
        assert "keeps it running; raymaker down stops it" in out, out
        assert "ingress: the local cluster's" in out, out
        r = httpx.post(
            f"http://127.0.0.1:{port}/v1/models/warm-iris:predict",
            json={"instances": ROWS},
            timeout=60,
        )
        assert r.status_code == 200, r.text
        assert len(r.json()["predictions"]) == 2
    finally:
        rc, out = _raymaker(env, "down")
    assert rc == 0 and f"local cluster {cluster['address']} stopped" in out, out
    assert not record.exists()
    assert not _cluster_processes(cluster["temp_dir"]), "a process of the cluster outlived down"
    assert not os.path.exists(cluster["temp_dir"])
    with httpx.Client(timeout=5) as client:  # its endpoint went with it
        try:
            client.get(f"http://127.0.0.1:{port}/-/routes")
            raise AssertionError("the endpoint still answers after down")
        except httpx.TransportError:
            pass
    rc, out = _raymaker(env, "down")
    assert rc == 0 and "no local cluster is up" in out, out
    assert not any(user_home.iterdir()) or not (user_home / ".ray" / "auth_token").exists()
