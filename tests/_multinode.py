"""A real multi-node Ray cluster on one machine: a head and worker nodes as separate processes.

Each node is its own `ray start --block` on 127.0.0.1 with free ports, its own temp dir and its
own process session, so a test can lose one node the way a machine is lost: SIGKILL to the
raylet, its agents and every worker process it started, with no goodbye to the GCS. Worker
nodes carry the custom resource ``rmk_worker`` (one per node) and ``node_<name>``, so a test
can put one Ray Train worker or one trial on each worker node.

Token auth is on, as on a real cluster (Ray 2.60 enables it on local clusters): every process
of the cluster and every driver the test starts gets ``RAY_AUTH_MODE=token`` and the cluster's
token, and a HOME of its own so that no ``~/.ray/auth_token`` of the user's is read.

Stopping kills only this cluster's processes (its process groups, their descendants, and any
process whose command line names the cluster's temp root); never `ray stop`, which stops every
Ray on the machine.
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
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import psutil
from _sockets import free_ports

from ray_apps.ports import RAY_HEAD_PORT_FLAGS, RAY_NODE_PORT_FLAGS
from serve.ingress import haproxy_paths

RAY = str(Path(sys.executable).with_name("ray"))


@dataclass
class Node:
    name: str
    proc: subprocess.Popen
    log: Path
    pids: set[int] = field(default_factory=set)  # the node's processes seen so far

    def alive(self) -> bool:
        return self.proc.poll() is None

    def processes(self) -> list[psutil.Process]:
        """`ray start`, raylet, agents and the workers they started (some in own sessions)."""
        try:
            root = psutil.Process(self.proc.pid)
            found = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            found = []
        self.pids |= {p.pid for p in found}
        return found


class LocalCluster:
    """Head (``head_cpus`` CPUs) + worker nodes (``worker_cpus`` CPUs each) on 127.0.0.1."""

    def __init__(
        self,
        head_cpus: int = 1,
        worker_cpus: int = 1,
        system_config: dict | None = None,
        environ: dict[str, str] | None = None,
    ):
        # Under TMPDIR (make test's is /tmp/rmt-xxxxxxxx), every name short: Ray's longest
        # socket, <root>/<node>/session_<date>_<time>_<us>_<pid>/sockets/dash_MetricsHead, must
        # stay under 108 bytes (seen: 112 with <root>/ray/<node> under rmk-mn-…: no head).
        self.root = Path(tempfile.mkdtemp(prefix="mn-"))
        self.token = secrets.token_hex(24)
        self.head_cpus, self.worker_cpus = head_cpus, worker_cpus
        self.system_config = system_config or {}
        self.environ = environ or {}  # extra variables for every node and driver
        # Each node's ports get free ones, so that no other Ray on the machine clashes.
        head = RAY_HEAD_PORT_FLAGS
        *chosen, self.haproxy_stats_port, haproxy_metrics = free_ports(len(head) + 2)
        self.head_ports = dict(zip(head, chosen, strict=True))
        # Serve's HAProxy admin ports (8404 and 9101 by default) are this cluster's own too:
        # HAProxy binds with SO_REUSEPORT, so another HAProxy on a default port shares it
        # silently and half the stats requests reach the other one.
        self._haproxy_ports = {
            "RAY_SERVE_HAPROXY_STATS_PORT": str(self.haproxy_stats_port),
            "RAY_SERVE_HAPROXY_METRICS_PORT": str(haproxy_metrics),
        }
        self.gcs_address = f"127.0.0.1:{self.head_ports['--port']}"
        self.dashboard = f"http://127.0.0.1:{self.head_ports['--dashboard-port']}"
        self.head: Node | None = None
        self.workers: dict[str, Node] = {}
        (self.root / "home").mkdir()

    # -- environment -------------------------------------------------------------------------
    def env(self, **extra: str) -> dict[str, str]:
        """The environment of this cluster's processes and of drivers that join it."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
        env.update(haproxy_paths())  # Serve's HAProxy files under TMPDIR, not /tmp/haproxy-serve
        env.update(self._haproxy_ports)
        env.update(
            HOME=str(self.root / "home"),
            RAY_AUTH_MODE="token",
            RAY_AUTH_TOKEN=self.token,
            RAY_USAGE_STATS_ENABLED="0",
        )
        return {**env, **self.environ, **extra}

    def driver_env(self, **extra: str) -> dict[str, str]:
        return self.env(RAY_ADDRESS=self.gcs_address, **extra)

    # -- nodes -------------------------------------------------------------------------------
    def _start(self, name: str, args: list[str]) -> Node:
        # distinct from each other and from the head's (not all bound while it starts)
        flags = RAY_NODE_PORT_FLAGS
        chosen = free_ports(len(flags), avoid=set(self.head_ports.values()))
        ports = dict(zip(flags, chosen, strict=True))
        cmd = [RAY, "start", "--block", "--node-ip-address=127.0.0.1", *args]
        cmd += [f"{flag}={port}" for flag, port in ports.items()]
        cmd += [f"--temp-dir={self.root / name}", "--disable-usage-stats"]
        cmd += ["--min-worker-port=0", "--max-worker-port=0"]
        log = self.root / f"{name}-{time.time_ns()}.log"
        with open(log, "wb") as out:
            proc = subprocess.Popen(
                cmd, env=self.env(), stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        return Node(name, proc, log)

    def start_head(self) -> None:
        args = ["--head", f"--num-cpus={self.head_cpus}", "--dashboard-host=127.0.0.1"]
        args += [f"{flag}={port}" for flag, port in self.head_ports.items()]
        if self.system_config:
            args.append(f"--system-config={json.dumps(self.system_config)}")
        self.head = self._start("head", args)
        self._wait(lambda: self.alive_nodes() is not None, f"the head ({self.head.log})", 60)

    def add_worker(self, name: str, timeout_s: float = 60) -> Node:
        """Start (or restart) worker node ``name`` and wait until the GCS lists it alive."""
        resources = {"rmk_worker": 1, f"node_{name}": 1}
        args = [f"--address={self.gcs_address}", f"--num-cpus={self.worker_cpus}"]
        args.append(f"--resources={json.dumps(resources)}")
        before = self.count_alive(f"node_{name}")
        node = self._start(name, args)
        self.workers[name] = node
        self._wait(
            lambda: self.count_alive(f"node_{name}") > before,
            f"worker {name} ({node.log})",
            timeout_s,
        )
        node.processes()
        return node

    def kill_worker(self, name: str) -> float:
        """SIGKILL worker node ``name`` (raylet, agents, its workers); returns the kill time."""
        node = self.workers[name]
        procs = node.processes()
        at = time.time()
        for p in procs:
            _kill(p.pid)
        psutil.wait_procs(procs, timeout=10)
        node.proc.wait(timeout=10)
        return at

    def wait_worker_dead(self, name: str, timeout_s: float = 90) -> float:
        """Wait until the GCS marks ``name`` dead; returns when it did (as time.time())."""
        self._wait(lambda: self.count_alive(f"node_{name}") == 0, f"{name} marked dead", timeout_s)
        return time.time()

    # -- state, read from the head's dashboard -----------------------------------------------
    def dashboard_json(self, path: str) -> dict | None:
        """GET ``path`` on the head's dashboard with the cluster's token; None if it fails."""
        req = urllib.request.Request(
            f"{self.dashboard}{path}", headers={"Authorization": f"Bearer {self.token}"}
        )
        try:
            with urllib.request.urlopen(req, timeout=5) as r:
                return json.loads(r.read())
        except (OSError, urllib.error.HTTPError, ValueError):
            return None

    def alive_nodes(self) -> list[dict] | None:
        body = self.dashboard_json("/api/v0/nodes?limit=100&detail=true")
        if not body or not body.get("result"):
            return None
        return [n for n in body["data"]["result"]["result"] if n["state"] == "ALIVE"]

    def count_alive(self, resource: str) -> int:
        nodes = self.alive_nodes() or []
        return sum(1 for n in nodes if resource in (n.get("resources_total") or {}))

    def _wait(self, ready, what: str, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if ready():
                return
            if self.head is not None and self.head.proc.poll() is not None:
                raise RuntimeError(f"the head exited: {self.head.log.read_text()[-3000:]}")
            time.sleep(0.25)
        raise TimeoutError(f"{what}: not ready within {timeout_s} s")

    # -- teardown ----------------------------------------------------------------------------
    def stop(self) -> None:
        """Kill every process of this cluster, then remove its folder. Never `ray stop`."""
        nodes = [*self.workers.values(), *([self.head] if self.head else [])]
        for node in nodes:
            for p in node.processes():
                _kill(p.pid)
        mine = str(self.root)
        for p in psutil.process_iter(["pid", "cmdline"]):  # anything left that names our root
            try:
                if any(mine in part for part in p.info["cmdline"] or ()):
                    _kill(p.pid)
            except psutil.Error:
                pass
        for node in nodes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                node.proc.wait(timeout=10)
        shutil.rmtree(self.root, ignore_errors=True)


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def start_cluster(workers: tuple[str, ...] = ("a", "b"), **kwargs) -> LocalCluster:
    cluster = LocalCluster(**kwargs)
    try:
        cluster.start_head()
        for name in workers:
            cluster.add_worker(name)
    except BaseException:
        cluster.stop()
        raise
    return cluster
