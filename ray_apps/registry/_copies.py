"""This process's local copies of registered artifacts that live in a remote store.

``fetch_artifact`` hands its caller a folder, and the caller keeps reading it long after:
a model loaded from it reads its baseline and metrics there, an explanation job's actors
load the model from it. So a copy lives as long as the process, and is removed when the
process exits. A long-running process (a serving replica reloading its versions) copies each
version once: copies are keyed by the registered manifest digest and reused.

Serve ends a replica with ``ray.kill``, which runs no exit handlers: the replica's destructor
calls ``release_fetched`` instead.
"""

from __future__ import annotations

import atexit
import shutil
import threading
from pathlib import Path

from ray_apps.artifact import fetch

_copies: dict[str, Path] = {}  # manifest sha256 → folder
_lock = threading.Lock()
_registered = False


def copy_of(uri: str, digest: str) -> Path:
    """The local copy of the artifact at ``uri`` whose manifest has sha256 ``digest``."""
    global _registered
    with _lock:
        local = _copies.get(digest)
        if local is not None and local.is_dir():
            return local
        if not _registered:
            atexit.register(release_fetched)
            _registered = True
        local = _copies[digest] = fetch(uri)
        return local


def discard(digest: str) -> None:
    """Remove the copy kept for ``digest`` (one that failed its checks)."""
    with _lock:
        local = _copies.pop(digest, None)
    if local is not None:
        shutil.rmtree(local, ignore_errors=True)


def release_fetched() -> None:
    """Remove every artifact copy ``fetch_artifact`` made in this process, now.

    Models already loaded keep predicting; what they read from their folder (baseline,
    metrics) is gone, so call this when the process is done with them."""
    with _lock:
        folders = list(_copies.values())
        _copies.clear()
    for local in folders:
        shutil.rmtree(local, ignore_errors=True)
