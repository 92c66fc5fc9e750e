"""A warm local Ray that stays up between jobs: ``raymaker up`` starts it, ``raymaker down``
stops it.

Without it every ``raymaker tune``, ``deploy``, ``batch`` and distributed ``train`` (and every
notebook session) starts a local Ray of its own and takes it down at the end: ``ray.init``
alone is 4.5 s on a 2-core box, and Serve, Ray Train's controller and Ray Data's pools start
again each time. ``up`` starts one head node on this machine, as ``ray start --head`` would
but with raymaker's settings: dashboard on 127.0.0.1, token auth (a token of its own), free
ports (another Ray on the machine is never disturbed), the fast ingress and the Ray variables
``ensure_ray`` sets for a local Ray; it records the cluster in ``$RAYMAKER_HOME/ray-cluster.json``
(owner-only: it holds the token). ``ensure_ray`` then joins it, and says so, instead of
starting a Ray; a cluster named by ``RAY_ADDRESS`` still wins. ``down`` stops exactly the
processes ``up`` started (their process group; never ``ray stop``, which stops every Ray on
the machine) and removes the record.

Nothing stays running that the user did not ask for: without ``up`` every command's Ray goes
with it, as before. Jobs small enough to train in one process still do (no Ray at all).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

from ray_apps import settings
from ray_apps.errors import RaymakerError, SpecError
from ray_apps.ports import RAY_HEAD_PORT_FLAGS, RAY_NODE_PORT_FLAGS, free_ports

RECORD = "ray-cluster.json"
START_TIMEOUT_S = 120.0
STOP_GRACE_S = 10.0
_MIN_CPUS = 4  # as for the local Ray ensure_ray starts (ray_apps._ray_runtime)
# What ensure_ray sets in the driver of a local Ray, here for the head's own processes.
RAY_DEFAULTS = {
    "RAY_TRAIN_HEALTH_CHECK_INTERVAL_S": "0.2",
    "RAY_TRAIN_ENABLE_PRINT_PATCH": "0",
    "RAY_DATA_DISABLE_PROGRESS_BARS": "1",
    "RAY_USAGE_STATS_ENABLED": "0",
}


class ClusterError(RaymakerError):
    exit_code = 1


@dataclass(frozen=True)
class WarmCluster:
    """A running ``raymaker up`` cluster, as recorded."""

    address: str  # the GCS, host:port
    dashboard: str  # http://127.0.0.1:port
    pid: int  # ``ray start --block``: the leader of the cluster's process group
    temp_dir: str
    token: str
    cpus: int
    started_at: float

    def env(self) -> dict[str, str]:
        """What a process needs to join it (token auth)."""
        return {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": self.token}


def record_path() -> Path:
    return settings.home() / RECORD


def running() -> WarmCluster | None:
    """The ``raymaker up`` cluster of this ``RAYMAKER_HOME`` if it is still up, else None."""
    try:
        path = record_path()
    except SpecError:  # a submitted job without RAYMAKER_HOME: no project folder, no record
        return None
    cluster = _read(path)
    return cluster if cluster is not None and _alive(cluster) else None


def up(
    cpus: int | None = None, environ_for: Callable[[str], Mapping[str, str]] | None = None
) -> tuple[WarmCluster, bool]:
    """Start the warm cluster, or find it running; returns it and whether it started now.

    ``environ_for(temp_dir)``: the head's environment, given the cluster's own temp folder
    (the caller adds the ingress settings, with HAProxy's files there so that ``down`` finds
    its processes); defaults to this process's environment.
    """
    path = record_path()
    recorded = _read(path)
    if recorded is not None:
        if _alive(recorded):
            return recorded, False
        _stop(recorded)  # what is left of a cluster whose ray start died, if anything
        path.unlink(missing_ok=True)
    cpus = cpus or max(os.cpu_count() or 1, _MIN_CPUS)
    # As short as a name can be, under the temp folder: Ray's socket paths below it must stay
    # under 108 bytes, and HAProxy's (a 56-character node folder, then metrics.sock) under 98:
    # make test's TMPDIR (/tmp/rmt-xxxxxxxx) with a 10-character name left HAProxy at 98,
    # refused ("Error(s) found in configuration file").
    temp_dir = tempfile.mkdtemp(prefix="")
    token = secrets.token_hex(24)
    env = dict(os.environ if environ_for is None else environ_for(temp_dir))
    taken = {int(v) for k, v in env.items() if k.endswith("_PORT") and v.isdigit()}
    flags = RAY_HEAD_PORT_FLAGS + RAY_NODE_PORT_FLAGS
    ports = dict(zip(flags, free_ports(len(flags), taken), strict=True))
    env.pop("RAY_ADDRESS", None)  # the head is this cluster, whatever the shell joined
    env.update({**RAY_DEFAULTS, "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": token})
    ray = str(Path(sys.executable).with_name("ray"))
    cmd = [ray, "start", "--head", "--block"]
    cmd += [f"--num-cpus={cpus}", "--dashboard-host=127.0.0.1", "--disable-usage-stats"]
    cmd += [f"{flag}={port}" for flag, port in ports.items()]
    cmd += [f"--temp-dir={temp_dir}", "--min-worker-port=0", "--max-worker-port=0"]
    log = Path(temp_dir) / "up.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            cmd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    cluster = WarmCluster(
        address=f"127.0.0.1:{ports['--port']}",
        dashboard=f"http://127.0.0.1:{ports['--dashboard-port']}",
        pid=proc.pid,
        temp_dir=temp_dir,
        token=token,
        cpus=cpus,
        started_at=time.time(),
    )
    deadline = time.monotonic() + START_TIMEOUT_S
    while "Ray runtime started" not in log.read_text(errors="replace"):
        if proc.poll() is not None or time.monotonic() > deadline:
            _stop(cluster)
            tail = log.read_text(errors="replace").strip().splitlines()[-5:]
            raise ClusterError("ray start --head failed: " + " | ".join(tail))
        time.sleep(0.2)
    _write_record(path, cluster)
    return cluster, True


def down() -> WarmCluster | None:
    """Stop the warm cluster of this ``RAYMAKER_HOME``; returns it, or None if none was up."""
    path = record_path()
    cluster = _read(path)
    if cluster is None:
        return None
    _stop(cluster)
    path.unlink(missing_ok=True)
    return cluster


def _read(path: Path) -> WarmCluster | None:
    try:
        return WarmCluster(**json.loads(path.read_text()))
    except (FileNotFoundError, json.JSONDecodeError, TypeError):
        return None


def _alive(cluster: WarmCluster) -> bool:
    """Its ``ray start`` process still runs and leads the group it started (a pid reused by
    another process after a reboot has another group; a zombie is gone)."""
    import psutil

    try:
        proc = psutil.Process(cluster.pid)
        return os.getpgid(cluster.pid) == cluster.pid and proc.status() != psutil.STATUS_ZOMBIE
    except (ProcessLookupError, psutil.Error):
        return False


def _stop(cluster: WarmCluster) -> None:
    # ``ray start --block`` stops its node's processes on SIGTERM (~4 s here); a signal to the
    # whole group instead left the GCS and raylet up for over 15 s. Whatever of the group is
    # left after the grace period (or of a group whose leader died) is killed.
    # Processes Ray starts in sessions of their own (Serve's HAProxy, a child of the Serve
    # controller's worker) are not in the group: they are found as descendants, before the
    # stop orphans them.
    import psutil

    descendants = []
    if _alive(cluster):
        with contextlib.suppress(psutil.Error):
            descendants = psutil.Process(cluster.pid).children(recursive=True)
        os.kill(cluster.pid, signal.SIGTERM)
        _wait_group(cluster.pid, STOP_GRACE_S)
    if _group_alive(cluster.pid):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(cluster.pid, signal.SIGKILL)
        _wait_group(cluster.pid, 5.0)
    # And whatever still names the cluster's folder (HAProxy's config lives there), should it
    # have been started after the descendants were listed.
    left = [p for p in descendants if _running(p)] + _naming(cluster.temp_dir)
    for proc in left:
        with contextlib.suppress(psutil.Error):
            proc.kill()
    psutil.wait_procs(left, timeout=5)
    shutil.rmtree(cluster.temp_dir, ignore_errors=True)


def _naming(folder: str) -> list:
    import psutil

    found = []
    for proc in psutil.process_iter(["cmdline"]):
        try:
            if any(folder in arg for arg in proc.info["cmdline"] or []) and _running(proc):
                found.append(proc)
        except psutil.Error:
            continue
    return found


def _running(proc) -> bool:
    import psutil

    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _wait_group(pgid: int, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while _group_alive(pgid) and time.monotonic() < deadline:
        time.sleep(0.2)


def _group_alive(pgid: int) -> bool:
    """Whether a process of group ``pgid`` still runs (zombies do not: on a machine whose
    init does not reap, they stay listed)."""
    import psutil

    for proc in psutil.process_iter(["pid", "status"]):
        try:
            if proc.info["status"] != psutil.STATUS_ZOMBIE and os.getpgid(proc.info["pid"]) == pgid:
                return True
        except (ProcessLookupError, psutil.Error):
            continue
    return False


def _write_record(path: Path, cluster: WarmCluster) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # it holds the token
    with os.fdopen(fd, "w") as f:
        json.dump(asdict(cluster), f, indent=1)
    os.replace(tmp, path)
