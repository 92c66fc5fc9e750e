"""The local Ray's watchdog, without Ray: what a SIGKILLed driver started goes with it, and
nothing else does."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from _serve_helpers import wait_for

from ray_apps import _ray_watchdog
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


def test_a_ray_process_whose_title_hid_the_tag_is_found_by_its_session_folder(tmp_path):
    """Ray's setproctitle zeroes the start of the environment block, where the raylet may have
    put the tag: such a ``ray::`` process is known by the session folder it holds files in."""
    logs = tmp_path / "session_2026-12-02_00-00-00_000000_1" / "logs"
    logs.mkdir(parents=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    untagged = {k: v for k, v in os.environ.items() if k != ENV}

    def holding(title: str, folder: Path) -> str:
        # argv[0] is what /proc/<pid>/cmdline starts with, as after Ray's setproctitle.
        return (
            f"subprocess.Popen([{title!r}, '-c', {_holding(folder)!r}], executable=sys.executable, "
            f"env={untagged!r}).pid"
        )

    code = (
        "import subprocess, sys, time\n"
        "from ray_apps._ray_watchdog import note_session_dir, watch_local_ray\n"
        "watch_local_ray()\n"
        f"note_session_dir({str(logs.parent)!r})\n"
        f"print({holding('ray::DashboardAgent', logs)}, flush=True)\n"
        f"print({holding('ray::Other', elsewhere)}, flush=True)\n"
        f"print({holding('tail', logs)}, flush=True)\n"
        "time.sleep(600)\n"
    )
    driver = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    agent = other = tail = None
    try:
        agent, other, tail = (int(driver.stdout.readline()) for _ in range(3))
        wait_for(lambda: all(_holds(p) for p in (agent, other, tail)), 20, "files open", 0.05)
        assert f"{ENV}=".encode() not in Path(f"/proc/{agent}/environ").read_bytes()
        os.kill(driver.pid, signal.SIGKILL)
        driver.wait()
        wait_for(lambda: not _running(agent), 10, "the untagged ray:: process to be killed", 0.05)
        # Only a ray:: process with a file in that session: the others live on.
        assert _running(other) and _running(tail)
    finally:
        driver.kill()
        driver.wait()
        for pid in (agent, other, tail):
            if pid:
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)


def _holding(folder: Path) -> str:
    """A child's code: hold a log file open under ``folder`` and live on, as a Ray process
    does (its lifetime, not a wait; the tests kill it)."""
    return f"import time; f = open({str(folder / 'a.log')!r}, 'a'); time.sleep(600)"


def _holds(pid: int) -> bool:
    """Whether ``pid`` has opened its log file yet."""
    try:
        return any(
            os.readlink(f"/proc/{pid}/fd/{fd}").endswith("a.log")
            for fd in os.listdir(f"/proc/{pid}/fd")
        )
    except OSError:
        return False


def test_a_watchdog_that_starts_after_its_driver_died_still_reads_the_session_folder(tmp_path):
    """Seen under load: the driver sent its session folder and died before its watchdog first
    looked. What the pipe holds is read all the same, and the ray:: process in that session
    goes."""
    logs = tmp_path / "session_2026-12-02_00-00-00_000000_2" / "logs"
    logs.mkdir(parents=True)
    agent = subprocess.Popen(
        ["ray::DashboardAgent", "-c", _holding(logs)], executable=sys.executable
    )
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()  # the driver: dead before the watchdog starts
    read_end, write_end = os.pipe()
    os.write(write_end, f"{os.path.realpath(logs.parent)}\n".encode())
    os.close(write_end)
    try:
        wait_for(lambda: _holds(agent.pid), 20, "the log file open", 0.05)
        script = _ray_watchdog.__file__
        watchdog = subprocess.run(
            [sys.executable, "-I", script, f"{gone.pid}-{os.getpid()}test"],
            stdin=read_end,
            timeout=60,
        )
        assert watchdog.returncode == 0
        wait_for(lambda: agent.poll() is not None, 10, "the ray:: process in that session killed")
    finally:
        os.close(read_end)
        agent.kill()
        agent.wait()
