"""Run a command with a private temp folder; fail if it leaves anything in the system one.

    python tests/_tmp_guard.py python -m pytest -q tests      (what ``make test`` runs)

The command runs with ``TMPDIR`` set to a new, short folder under the system temp folder
(unix-socket paths of Ray, PostgreSQL and HAProxy must stay under 108 bytes). Everything that
honours ``TMPDIR`` — Python's ``tempfile``, pytest's ``tmp_path``, Ray's session folders, the
servers the tests start, Serve's HAProxy files (``serve.ingress.haproxy_paths``) — writes
there, and the folder is removed afterwards, with whatever a process a test killed on purpose
could not clean up. What appears directly in the system temp folder meanwhile was written to a
hard-coded path: it is listed, and the run fails (exit 1) even when the command passed. So a
full ``make test`` leaves nothing new in the system temp folder, and CI asserts it.

On success it prints nothing, so the test runner's summary stays the last line.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile


def main(argv: list[str]) -> int:
    if not argv:
        print("usage: python tests/_tmp_guard.py COMMAND [ARG ...]", file=sys.stderr)
        return 2
    system = tempfile.gettempdir()
    before = set(os.listdir(system))
    private = tempfile.mkdtemp(prefix="rmt-", dir=system)
    try:
        code = subprocess.call(argv, env={**os.environ, "TMPDIR": private})
    finally:
        shutil.rmtree(private, ignore_errors=True)
    left = sorted(set(os.listdir(system)) - before)  # the private folder too, if not removed
    if left:
        print(
            f"error: the run left {len(left)} new entries in {system}: {left}; whatever wrote "
            "them ignores TMPDIR: write under tempfile.gettempdir() and remove it afterwards",
            file=sys.stderr,
        )
        return code or 1
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
