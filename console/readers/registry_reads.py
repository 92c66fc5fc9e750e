"""The registry as the console's pages read it: every version of every model in one snapshot
(``ray_apps.registry.all_versions``: two queries), kept until the registry changes.

With 50 models × 5 versions, MLflow took 0.1-0.5 s for the one query of all versions on a
quiet 2-core machine (most of it building its ORM objects), and ``list_models`` — a query per
model — 1.3 s: more than a page may take (``bench/console.py``). So the console reads the
snapshot once and answers every page from it until the store says it changed:

* a SQLite store (the embedded default): the database file's and its journal's size and
  modification time (any commit rewrites one of them; two stat calls per page);
* any other store (an MLflow server, PostgreSQL): at most ``ttl_s`` old; the console's own
  decisions drop the snapshot at once (``forget``).

The figures a page shows are the registry's own types (``ModelVersion``); nothing is parsed here.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable

from ray_apps import registry
from ray_apps.errors import NotFoundError
from ray_apps.registry import ModelVersion

TTL_S = 2.0
Snapshot = dict[str, list[ModelVersion]]


class RegistryReads:
    def __init__(self, uri: str, clock: Callable[[], float] = time.monotonic, ttl_s: float = TTL_S):
        self.uri, self._clock, self._ttl_s = uri, clock, ttl_s
        self._lock = threading.Lock()
        self._kept: tuple[object, float, Snapshot] | None = None

    def snapshot(self) -> Snapshot:
        stamp = _stamp(self.uri)
        with self._lock:
            kept = self._kept
            if kept is not None and self._fresh(kept[0], kept[1], stamp):
                return kept[2]
        taken = registry.all_versions(tracking_uri=self.uri)
        with self._lock:
            self._kept = (stamp, self._clock(), taken)
        return taken

    def forget(self) -> None:
        """Drop the snapshot (after a change this console made)."""
        with self._lock:
            self._kept = None

    # -- what the pages ask, as ``ray_apps.registry`` answers it -----------------------------
    def list_models(self) -> list[dict]:
        return [registry.model_summary(n, vs) for n, vs in self.snapshot().items()]

    def list_versions(self, name: str) -> list[ModelVersion]:
        snap = self.snapshot()
        if name not in snap:
            return registry.list_versions(name, tracking_uri=self.uri)  # its NotFoundError
        return snap[name]

    def get_version(self, name: str, version: int) -> ModelVersion:
        for v in self.list_versions(name):
            if v.version == int(version):
                return v
        return registry.get_version(name, version, tracking_uri=self.uri)  # its NotFoundError

    def served_endpoints(self) -> dict[str, list[tuple[str, int]]]:
        """As ``registry.served_endpoints``: each endpoint's (model, version) pairs, sorted."""
        out: dict[str, list[tuple[str, int]]] = {}
        for versions in self.snapshot().values():
            for v in versions:
                for endpoint in v.served_by:
                    out.setdefault(endpoint, []).append((v.name, v.version))
        return {endpoint: sorted(pairs) for endpoint, pairs in sorted(out.items())}

    def metrics_of(self, name: str, version: int) -> dict[str, float]:
        try:
            return self.get_version(name, version).metrics
        except NotFoundError:
            return {}

    def _fresh(self, kept_stamp: object, taken_at: float, stamp: object) -> bool:
        if stamp is not None:
            return kept_stamp == stamp
        return self._clock() - taken_at < self._ttl_s


def _stamp(uri: str) -> tuple | None:
    """What changes with every commit to a SQLite store; None for any other store."""
    if not uri.startswith("sqlite:///"):
        return None
    path = uri.removeprefix("sqlite:///")
    out = []
    for name in (path, f"{path}-journal", f"{path}-wal"):
        try:
            st = os.stat(name)
            out.append((st.st_size, st.st_mtime_ns, st.st_ino))
        except FileNotFoundError:
            out.append(None)
    return tuple(out)
