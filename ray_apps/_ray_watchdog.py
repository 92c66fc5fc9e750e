"""A local Ray that does not outlive the process that started it, even when that one is killed.

Seen: a ``raymaker batch`` driver that had started the embedded Ray was SIGKILLed and that Ray's
processes stayed. Ray's own fate-sharing (``ray.init`` starts the head's processes with
``PR_SET_PDEATHSIG``) stops gcs_server, the raylet, the dashboard, the monitor and the log
monitor with the driver, and the workers and the dashboard's module processes follow within
~3 s; but the raylet's children ``DashboardAgent`` and ``RuntimeEnvAgent`` see their raylet
die and first report it to the GCS, which is gone, with a fixed 60 s timeout
(``ray._private.utils.publish_error_to_driver``): they stayed 60+ s (measured on Ray 2.60).

``watch_local_ray()``, called before ``ray.init`` starts a local Ray, puts a tag in this
process's environment, which every process of that Ray inherits, and starts this file as a
script (standard library only, in a session of its own, so neither Ctrl-C nor a signal to the
driver's process group reaches it). It reads a pipe whose writing end only the driver holds:
the driver's exit, however it comes, closes it. It then SIGKILLs every process still carrying
the tag, by PID, and exits. Another Ray on the host carries another tag or none, so it is never
touched (never ``ray stop``). Linux only (it reads ``/proc``); elsewhere Ray's own clean-up is
what there is.

The tag alone missed the two agents in about half of the full test runs: the raylet starts them
with its environment in hash-map order, and Ray's ``setproctitle("ray::DashboardAgent")`` zeroes
the first ~500 bytes of the environment block, so the tag was gone whenever it landed there.
So the driver also sends its Ray's session folder down the pipe once ``ray.init`` has made it
(``note_session_dir``), and a process whose title starts with ``ray::`` and that holds a file
open under that folder is this Ray's too.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import sys
import time

ENV = "RAYMAKER_LOCAL_RAY"

# The pipe's writing end, held open for this process's lifetime, and the watchdog (held so
# that no "subprocess is still running" warning comes when its handle would be collected).
_pipe: int | None = None
_watchdog = None


def watch_local_ray() -> None:
    """Tag the processes this process starts from now on and reap them when it exits."""
    global _pipe, _watchdog
    if _pipe is not None or not sys.platform.startswith("linux"):
        return
    import subprocess
    import uuid

    tag = f"{os.getpid()}-{uuid.uuid4().hex[:12]}"
    read_end, write_end = os.pipe()
    try:
        _watchdog = subprocess.Popen(
            [sys.executable, "-I", os.path.abspath(__file__), tag],
            stdin=read_end,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
    finally:
        os.close(read_end)
    os.environ[ENV] = tag
    _pipe = write_end


def note_session_dir(path: str) -> None:
    """Tell the watchdog the session folder of the Ray this process started."""
    if _pipe is not None:
        # As /proc/<pid>/fd shows paths: symbolic links resolved.
        os.write(_pipe, f"{os.path.realpath(path)}\n".encode())


def tagged(tag: str, *, exclude: int | None = None) -> list[int]:
    """PIDs of the processes whose environment carries ``tag`` (those readable by us)."""
    entry = f"{ENV}={tag}".encode()
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == exclude:
            continue
        try:
            with open(f"/proc/{name}/environ", "rb") as f:
                if entry in f.read().split(b"\0"):
                    found.append(int(name))
        except OSError:  # gone meanwhile, or not ours to read
            continue
    return found


def _reap(tag: str) -> None:
    """Wait for the driver to be gone, then kill what is left of its Ray."""
    driver = int(tag.split("-", 1)[0])
    sessions = _wait_for_exit(driver)
    me, quiet = os.getpid(), 0
    deadline = time.monotonic() + 30
    while quiet < 2 and time.monotonic() < deadline:  # two clean passes: none was starting
        left = set(tagged(tag, exclude=me))
        for pid in left:  # a worker still alive says where its session is, if the pipe did not
            sessions |= _session_dirs(pid)
        left |= set(_titled_in(sessions))
        quiet = 0 if left else quiet + 1
        for pid in left:
            with contextlib.suppress(OSError):  # gone by itself meanwhile
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.2)


_SESSION = re.compile(r"^(/.*/session_[^/]+)/")


def _session_dirs(pid: int) -> set[str]:
    """The Ray session folders ``pid`` holds files open under."""
    found = set()
    with contextlib.suppress(OSError):
        for fd in os.listdir(f"/proc/{pid}/fd"):
            with contextlib.suppress(OSError):
                match = _SESSION.match(os.readlink(f"/proc/{pid}/fd/{fd}"))
                if match:
                    found.add(match.group(1))
    return found


def _titled_in(sessions: set[str]) -> list[int]:
    """PIDs of the ``ray::`` processes that hold a file open under one of ``sessions``."""
    if not sessions:
        return []
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/cmdline", "rb") as f:
                if f.read(5) != b"ray::":
                    continue
        except OSError:
            continue
        if _session_dirs(int(name)) & sessions:
            found.append(int(name))
    return found


def _wait_for_exit(driver: int) -> set[str]:
    """Until the pipe's end (the driver's exit closes it) or the driver is gone: a child that
    the driver forked without exec'ing keeps its copy of the pipe open after the driver dies.
    Returns the session folders the driver sent meanwhile."""
    import select

    received = b""
    while True:
        alive = _alive(driver)
        # Once the driver is gone, still read what it sent: a watchdog that started slower than
        # its driver died (seen under load) would otherwise never hear the session folder, and
        # the untagged ``ray::`` processes it names would outlive it.
        if select.select([0], [], [], 1.0 if alive else 0)[0]:
            chunk = os.read(0, 4096)
            if not chunk:
                break
            received += chunk
        elif not alive:
            break
    return {line for line in received.decode(errors="replace").splitlines() if line}


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


if __name__ == "__main__":
    _reap(sys.argv[1])
