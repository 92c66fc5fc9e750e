"""The local Ray's watchdog, without Ray: what a SIGKILLed driver started goes with it, and
nothing else does."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from _serve_helpers import wait_for

from ray_apps._ray_watchdog import ENV, tagged

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")

SLEEP = [sys.executable, "-c", "import time; time.sleep(600)"]


def _driver(then: str) -> list[str]:
    """A driver that arms the watchdog, starts a process the way ray.init starts Ray's, prints
    its pid, then runs ``then``."""
    code = (
        "import subprocess, sys, time\n"
        "from ray_apps._ray_watchdog import watch_local_ray\n"
        "watch_local_ray()\n"
        f"child = subprocess.Popen({SLEEP!r})\n"
        "print(child.pid, flush=True)\n"
        f"{then}\n"
    )
    return [sys.executable, "-c", code]


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _watchdogs(tag: str) -> list[int]:
    found = []
    for p in Path("/proc").iterdir():
        try:
            if p.name.isdigit() and tag.encode() in (p / "cmdline").read_bytes():
                found.append(int(p.name))
        except OSError:
            continue
    return found


def test_a_killed_drivers_processes_are_killed_and_no_other(tmp_path):
    bystander = subprocess.Popen(SLEEP)  # not the driver's: must live on
    driver = subprocess.Popen(_driver("time.sleep(600)"), stdout=subprocess.PIPE, text=True)
    try:
        child = int(driver.stdout.readline())
        environ = Path(f"/proc/{child}/environ").read_bytes().split(b"\0")
        tag = next(e for e in environ if e.startswith(f"{ENV}=".encode())).decode()
        tag = tag.split("=", 1)[1]
        assert tag.startswith(f"{driver.pid}-")
        assert tagged(tag) == [child]  # the watchdog and the driver itself do not carry it
        assert len(_watchdogs(tag)) == 1

        os.kill(driver.pid, signal.SIGKILL)
        driver.wait()
        killed = time.monotonic()
        wait_for(lambda: not _running(child), 10, "the driver's child to be killed", 0.05)
        took = time.monotonic() - killed
        wait_for(lambda: not _watchdogs(tag), 10, "the watchdog to exit", 0.05)
        assert took < 5
        assert bystander.poll() is None
    finally:
        for p in (driver, bystander):
            p.kill()
            p.wait()


def test_a_driver_that_exits_normally_leaves_nothing_either():
    driver = subprocess.run(_driver("sys.exit(0)"), capture_output=True, text=True, timeout=60)
    child = int(driver.stdout.split()[0])
    wait_for(lambda: not _running(child), 10, "the exited driver's child to be killed", 0.05)
