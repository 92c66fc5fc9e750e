"""A real ``ray start --head`` cluster on 127.0.0.1 for one test module, with token auth.

Every port is a free one the kernel handed out, the session lives in its own temporary
folder, and ``stop`` ends exactly this cluster's processes by PID (the ``ray start --block``
process, its descendants, and any process that names this cluster's temp dir) — never
``ray stop``, which would end every Ray on the machine.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil
from _sockets import free_port, free_ports

from ray_apps.ports import RAY_HEAD_PORT_FLAGS, RAY_NODE_PORT_FLAGS


@dataclass
class RayHead:
    dashboard: str  # http://127.0.0.1:<port>, the Jobs API
    token: str
    temp_dir: Path
    process: subprocess.Popen

    def client_env(self) -> dict[str, str]:
        """What a submitter needs: token auth on, this cluster's token."""
        return {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": self.token}

    def processes(self) -> list[psutil.Process]:
        found = {}
        try:
            root = psutil.Process(self.process.pid)
            for p in [root, *root.children(recursive=True)]:
                found[p.pid] = p
        except psutil.NoSuchProcess:
            pass
        mark = str(self.temp_dir)
        for p in psutil.process_iter(["pid", "cmdline"]):
            if any(mark in arg for arg in p.info["cmdline"] or []):
                found[p.pid] = p
        return list(found.values())

    def stop(self, timeout_s: float = 30) -> None:
        # Until a pass finds nothing: a process can start while the head goes down (seen: the
        # driver of a job submitted just before, started by the job supervisor mid-stop, was
        # in no snapshot and outlived the head). Later passes give stragglers a short grace.
        deadline = time.monotonic() + timeout_s + 60
        grace = timeout_s
        while procs := [p for p in self.processes() if _running(p)]:
            for p in procs:
                with contextlib.suppress(psutil.NoSuchProcess):
                    p.send_signal(signal.SIGTERM)
            _, alive = psutil.wait_procs(procs, timeout=grace)
            for p in alive:
                with contextlib.suppress(psutil.NoSuchProcess):
                    p.kill()
            psutil.wait_procs(alive, timeout=10)
            grace = min(grace, 2.0)
            if time.monotonic() > deadline:
                break
        if self.process.poll() is None:
            self.process.wait(timeout=10)
        shutil.rmtree(self.temp_dir, ignore_errors=True)  # its processes are gone: its files go


def _running(p: psutil.Process) -> bool:
    """Alive and not a zombie waiting for its parent (a killed one is reaped by init)."""
    try:
        return p.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def start_head(
    base_env: dict[str, str], num_cpus: int = 4, timeout_s: float = 120, *, jobs_api: bool = True
) -> RayHead:
    """Start the head (token auth, loopback only) with ``base_env`` (its nodes' environment)
    and wait until its Jobs API answers; ``jobs_api=False``: return once ``ray start`` is
    launched, the head still starting (its log: ``<temp_dir>/ray-start.log``)."""
    # Short: Ray's unix sockets live under it. Under TMPDIR, which make test keeps private.
    temp_dir = Path(tempfile.mkdtemp(prefix="rm-ray-"))
    token = secrets.token_hex(16)
    bin_dir = str(Path(sys.executable).parent)
    env = {
        **base_env,
        "RAY_AUTH_MODE": "token",
        "RAY_AUTH_TOKEN": token,
        "PATH": f"{bin_dir}{os.pathsep}{base_env.get('PATH', '')}",
    }
    env.pop("RAY_ADDRESS", None)
    # A window of worker ports starting at a free one (its neighbours are very likely free);
    # every other port outside it, which Ray checks before starting.
    worker_low = min(free_port(), 65000)
    workers = range(worker_low, worker_low + 201)
    flags = RAY_HEAD_PORT_FLAGS + RAY_NODE_PORT_FLAGS
    ports = dict(zip(flags, free_ports(len(flags), avoid=workers), strict=True))
    dashboard_port = ports["--dashboard-port"]
    cmd = [
        f"{bin_dir}/ray",
        "start",
        "--head",
        "--block",
        "--node-ip-address=127.0.0.1",
        f"--temp-dir={temp_dir}",
        f"--num-cpus={num_cpus}",
        "--include-dashboard=true",
        "--dashboard-host=127.0.0.1",
        "--disable-usage-stats",
        *(f"{flag}={port}" for flag, port in ports.items()),
        f"--min-worker-port={workers.start}",
        f"--max-worker-port={workers.stop - 1}",
    ]
    log_path = temp_dir / "ray-start.log"
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    head = RayHead(f"http://127.0.0.1:{dashboard_port}", token, temp_dir, process)
    if not jobs_api:
        return head
    deadline = time.monotonic() + timeout_s
    headers = {"Authorization": f"Bearer {token}"}
    while True:
        if process.poll() is not None:
            tail = _tail(log_path)  # stop removes the folder, log and all
            head.stop()
            raise RuntimeError(f"ray start exited {process.returncode}; its log ends:\n{tail}")
        try:
            if httpx.get(f"{head.dashboard}/api/jobs/", headers=headers, timeout=2).is_success:
                return head
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            tail = _tail(log_path)
            head.stop()
            raise RuntimeError(
                f"Ray's Jobs API did not answer in {timeout_s:g} s; ray start's log ends:\n{tail}"
            )
        time.sleep(0.5)


def _tail(log: Path, chars: int = 3000) -> str:
    return log.read_text(errors="replace")[-chars:] if log.is_file() else "(no log)"
