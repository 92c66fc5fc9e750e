"""A cluster started with RAY_AUTH_MODE=token refuses a job submitted without its token.

The test starts its own head (`ray start --head --block` on 127.0.0.1, free ports, its own temp
dir and HOME, so neither the user's ~/.ray/auth_token nor another Ray on this machine is
involved) and stops only that head: its process group, then any process left whose command line
names its temp dir. Never `ray stop`, which stops every Ray on the machine.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import psutil
import pytest
from _sockets import free_ports

RAY = str(Path(sys.executable).with_name("ray"))
PORT_FLAGS = (
    "--port",
    "--dashboard-port",
    "--ray-client-server-port",
    "--dashboard-agent-listen-port",
    "--dashboard-agent-grpc-port",
    "--metrics-export-port",
    "--runtime-env-agent-port",
    "--node-manager-port",
    "--object-manager-port",
)


class TokenCluster:
    def __init__(self, root: Path, token: str):
        self.root, self.token = root, token
        self.ports = dict(zip(PORT_FLAGS, free_ports(len(PORT_FLAGS)), strict=True))
        self.address = f"http://127.0.0.1:{self.ports['--dashboard-port']}"
        self.proc: subprocess.Popen | None = None

    def env(self, **extra: str) -> dict[str, str]:
        """A clean client environment: no token, no auth mode, no Ray address inherited."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
        return {**env, "HOME": str(self.root / "home"), **extra}

    def start(self) -> None:
        (self.root / "home").mkdir()
        cmd = [RAY, "start", "--head", "--block", "--node-ip-address=127.0.0.1"]
        cmd += [f"{flag}={port}" for flag, port in self.ports.items()]
        cmd += ["--dashboard-host=127.0.0.1", "--num-cpus=1", f"--temp-dir={self.root / 'ray'}"]
        cmd += ["--min-worker-port=0", "--max-worker-port=0", "--disable-usage-stats"]
        env = self.env(RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=self.token)
        log = open(self.root / "ray-start.log", "wb")  # noqa: SIM115 (closed with the process)
        self.proc = subprocess.Popen(
            cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        deadline = time.monotonic() + 45
        while time.monotonic() < deadline:  # the Jobs API answers (401 counts: it is up)
            if self.proc.poll() is not None:
                raise RuntimeError((self.root / "ray-start.log").read_text()[-3000:])
            if self.http("/api/version", token=None)[0] in (200, 401):
                return
            time.sleep(0.25)
        raise TimeoutError("the token-auth head did not answer within 45 s")

    def http(self, path: str, token: str | None) -> tuple[int, str]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        req = urllib.request.Request(self.address + path, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=5) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()
        except OSError:
            return 0, ""

    def submit(self, *args: str, **env: str) -> subprocess.CompletedProcess:
        cmd = [RAY, "job", "submit", "--address", self.address, *args]
        return subprocess.run(cmd, env=self.env(**env), capture_output=True, text=True, timeout=120)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)  # --block: ray start stops its processes
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
        mine = str(self.root)
        for p in psutil.process_iter(["pid", "cmdline"]):  # workers in sessions of their own
            if any(mine in part for part in p.info["cmdline"] or ()):
                p.kill()


@pytest.fixture(scope="module")
def cluster():
    # Under TMPDIR, names short: Ray's sockets (<root>/ray/session_…/sockets/…) need < 108 bytes.
    root = Path(tempfile.mkdtemp(prefix="auth-"))
    c = TokenCluster(root, token=secrets.token_hex(24))
    try:
        c.start()
        yield c
    finally:
        c.stop()
        shutil.rmtree(root, ignore_errors=True)


def test_a_job_without_the_token_is_refused(cluster):
    marker = root_marker(cluster)
    refused = cluster.submit("--", "python", "-c", f"open({marker!r}, 'w')")
    assert refused.returncode != 0
    assert "401" in refused.stdout + refused.stderr or "nauthorized" in refused.stderr
    wrong_token = {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(24)}
    wrong = cluster.submit("--", "python", "-c", f"open({marker!r}, 'w')", **wrong_token)
    assert wrong.returncode != 0
    assert not Path(marker).exists()  # nothing ran
    # The Jobs API itself: no header, a wrong one.
    assert cluster.http("/api/jobs/", token=None)[0] == 401
    assert cluster.http("/api/jobs/", token="not-the-token")[0] in (401, 403)


def test_the_token_holder_runs_jobs_and_no_job_record_holds_the_token(cluster):
    marker = root_marker(cluster)
    token = {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": cluster.token}
    ok = cluster.submit("--", "python", "-c", f"open({marker!r}, 'w'); print('ran')", **token)
    assert ok.returncode == 0, ok.stdout[-2000:] + ok.stderr[-2000:]
    assert Path(marker).exists() and "ran" in ok.stdout
    status, body = cluster.http("/api/jobs/", token=cluster.token)
    assert status == 200 and json.loads(body)  # the job's metadata, entrypoint, runtime env
    assert cluster.token not in body and cluster.token not in ok.stdout + ok.stderr


def test_a_driver_without_the_token_cannot_join(cluster):
    # ray.init against the GCS port, as drivers on other nodes do (refused after ~20 s of
    # retries, with Ray's InvalidAuthToken).
    join = f"import ray; ray.init(address='127.0.0.1:{cluster.ports['--port']}')"
    wrong = {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(24)}
    r = subprocess.run(
        [sys.executable, "-c", join],
        env=cluster.env(**wrong),
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert r.returncode != 0 and "InvalidAuthToken" in r.stderr, r.stderr[-2000:]


def root_marker(cluster: TokenCluster) -> str:
    return str(cluster.root / f"ran-{secrets.token_hex(4)}")
