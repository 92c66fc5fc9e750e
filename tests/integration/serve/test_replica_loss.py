"""A replica SIGKILLed under load behind a second one loses no inference request.

``raymaker deploy`` runs as an operator runs it (a subprocess with its own local Ray and the
HAProxy ingress), two replicas, four clients on 127.0.0.1 with bounded load. Three times: one
replica is killed mid-traffic, and the requests it held are replayed by HAProxy on the other
(serve/haproxy_config.py); Serve then starts a replacement, and the next kill waits until
HAProxy has both replicas up again. Before the replay rules, 2–7 requests failed per kill.
The stall (the slowest request sent around the kill) is printed with the counts.
"""

import threading
import time
from dataclasses import dataclass

import httpx
import psutil
from _factories import xgboost_artifact
from _serve_helpers import deploy_process, haproxy_servers_up, wait_for

from ray_apps import registry

APP = "replica-loss"
KILLS = 3
MAX_REQUESTS = 20_000  # per run: bounded load whatever the box's speed


@dataclass
class Shot:
    sent: float
    done: float
    status: int  # -1: no HTTP answer
    error: str = ""


def test_a_killed_replica_loses_no_inference_request(raymaker_home, tmp_path):
    mv = registry.register(xgboost_artifact(tmp_path / "art"), APP)
    registry.approve(APP, mv.version, by="tests")
    args = [APP, "--min-replicas", "2", "--max-replicas", "2"]
    runs = []
    with deploy_process(args, raymaker_home, tmp_path / "deploy.log") as deployed:
        for _ in range(KILLS):
            wait_for(lambda: _replicas_up(deployed.stats_port) == 2, 90, "two replicas up")
            runs.append(_kill_one_under_load(f"http://127.0.0.1:{deployed.port}"))
    for i, (shots, killed_at) in enumerate(runs):
        failed = [s for s in shots if s.status != 200]
        near = [s.done - s.sent for s in shots if killed_at - 0.5 <= s.sent <= killed_at + 3]
        print(f"kill {i}: {len(shots)} requests, {len(failed)} failed, stall {max(near):.2f} s")
        assert len(shots) > 100, "too little load to tell"
        assert not failed, failed[:5]


def _kill_one_under_load(url: str) -> tuple[list[Shot], float]:
    shots: list[Shot] = []
    stop = threading.Event()

    def shoot() -> None:
        with httpx.Client(base_url=url, timeout=30) as client:
            while not stop.is_set() and len(shots) < MAX_REQUESTS:
                sent = time.monotonic()
                try:
                    r = client.post(
                        f"/v1/models/{APP}:predict", json={"instances": [[5.1, 3.5, 1.4, 0.2]]}
                    )
                    shots.append(Shot(sent, time.monotonic(), r.status_code, r.text[:200]))
                except httpx.HTTPError as err:
                    shots.append(Shot(sent, time.monotonic(), -1, repr(err)[:200]))

    clients = [threading.Thread(target=shoot) for _ in range(4)]
    for t in clients:
        t.start()
    try:
        wait_for(lambda: len(shots) > 50, 30, "traffic flowing")
        victim = _replica_processes()[0]
        killed_at = time.monotonic()
        victim.kill()
        wait_for(lambda: not victim.is_running(), 10, "the replica gone")
        wait_for(lambda: any(s.sent > killed_at + 1.0 for s in shots), 30, "traffic after kill")
    finally:
        stop.set()
        for t in clients:
            t.join()
    return shots, killed_at


def _replica_processes() -> list[psutil.Process]:
    mark = f"ServeReplica:{APP}:endpoint"
    return [
        p
        for p in psutil.process_iter(["cmdline"])
        if any(mark in arg for arg in p.info["cmdline"] or [])
    ]


def _replicas_up(stats_port: int) -> int:
    """Replica servers HAProxy has UP, when there are as many replica processes."""
    up = haproxy_servers_up(stats_port)
    return up if up == len(_replica_processes()) else 0
