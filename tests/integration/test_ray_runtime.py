"""The embedded Ray: dashboard (and so the state and job APIs) on loopback only, and Ray's
internals addressing it even beside another local Ray."""

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
from _sockets import LOOPBACK, listening


def test_dashboard_is_up_on_loopback_only(ray_session):
    import ray._private.worker
    from ray.util.state import list_actors

    url = ray._private.worker.get_dashboard_url()
    host, port = url.removeprefix("http://").rsplit(":", 1)
    assert host == "127.0.0.1"
    assert listening(int(port)) == {LOOPBACK}
    assert httpx.get(f"http://{url.removeprefix('http://')}", timeout=10).status_code == 200
    # Ray Train's placement-group cleaner and `ray list` need the state API behind it (asked
    # with this Ray's address: another Ray on the machine makes Ray's own lookup ambiguous).
    assert isinstance(list_actors(address=ray_session), list)


TWO_WORKER_XGB = """\
name: beside-xgb
dataset: {source: "sklearn:breast_cancer"}
model: {kind: xgboost}
hyperparameters: {rounds: 6, params: {max_depth: 3, eta: 0.3}}
scaling: {num_workers: 2, mode: distributed}
checkpoint: {every: 3, keep: 1}
"""


def test_train_beside_another_local_ray_stays_on_its_own(ray_session, tmp_path):
    """Seen: with a notebook's Ray on the same machine, ``raymaker train`` printed a 30-line
    ``PlacementGroupCleaner`` traceback, ``ConnectionError: Found multiple active Ray
    instances``: Ray Train's cleaner actor asks the state API with no address, and a worker
    without ``RAY_ADDRESS`` looks for "the" cluster among the machine's GCS processes. The other
    Ray here is the test session's own, started as a notebook starts one (``ray.init()``)."""
    spec = tmp_path / "xgb.yaml"
    spec.write_text(TWO_WORKER_XGB)
    env = {
        k: v for k, v in os.environ.items() if k not in ("RAY_ADDRESS", "RAY_API_SERVER_ADDRESS")
    }
    started = time.monotonic()
    done = subprocess.run(
        [f"{Path(sys.executable).parent}/raymaker", "train", "--config", str(spec)],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    print(f"raymaker train beside another Ray: {time.monotonic() - started:.1f} s")
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-3000:]
    assert "local Ray started" in output  # its own, not the session's
    for seen in ("Traceback", "Found multiple active Ray instances", "ConnectionError"):
        assert seen not in output, output[-3000:]
