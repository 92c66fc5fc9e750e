"""Step caching on content, not on names.

A step's cache key covers its kind, its resolved inputs, the code version (raymaker's own
sources), and the content of every local file or folder its inputs name, and of every such
path inside the job file a ``config`` input names (so ``dataset: {source: data/x.csv}`` is
keyed on that CSV's bytes). An artifact folder is keyed on its manifest (the checksums of
every file in it). SageMaker keys on the step's arguments and input URIs only, so a file
changed in place gives a stale hit; here it is a miss.

Where a job writes (``storage``, ``output``, ``tracking_uri``) is not content: those keys are
left out of the walk, or every run would change its own key.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

_WRITES = frozenset({"storage", "output", "tracking_uri"})
_MAX_FILES = 10_000  # a folder with more is keyed on names, sizes and times (said in the key)


def cache_key(kind: str, inputs: Mapping[str, Any], code: str) -> tuple[str, dict[str, str]]:
    """(key, {path: content digest}) of a step with these resolved inputs."""
    contents = {p: digest_path(p) for p in sorted(_paths(inputs))}
    body = json.dumps(
        {"kind": kind, "inputs": inputs, "code": code, "contents": contents},
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(body.encode()).hexdigest(), contents


def fresh(entry: Mapping[str, Any], expire_after_s: float | None, now: float) -> bool:
    """Whether a cache entry may be reused now."""
    return expire_after_s is None or now - float(entry["created_at"]) <= expire_after_s


@functools.cache
def code_version() -> str:
    """sha256 of raymaker's source files: another version of the code is another key."""
    root = Path(__file__).resolve().parent.parent
    h = hashlib.sha256()
    for package in ("ray_apps", "tuning", "serve", "pipelines"):
        for source in sorted((root / package).rglob("*.py")):
            h.update(str(source.relative_to(root)).encode())
            h.update(source.read_bytes())
    return h.hexdigest()[:16]


def digest_path(path: str) -> str:
    p = Path(path)
    if p.is_file():
        return _file_digest(p)
    manifest = p / "MANIFEST.json"  # an artifact: its manifest lists every file's checksum
    if manifest.is_file():
        return "manifest:" + _file_digest(manifest)
    h = hashlib.sha256()
    files = sorted(f for f in p.rglob("*") if f.is_file())
    if len(files) > _MAX_FILES:
        for f in files:
            st = f.stat()
            h.update(f"{f.relative_to(p)}:{st.st_size}:{st.st_mtime_ns}".encode())
        return "stat:" + h.hexdigest()
    for f in files:
        h.update(str(f.relative_to(p)).encode())
        h.update(_file_digest(f).encode())
    return h.hexdigest()


def _file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _paths(value: Any, key: str | None = None) -> set[str]:
    """Local files and folders named in ``value``, and in the job files it names."""
    if key in _WRITES:
        return set()
    if isinstance(value, Mapping):
        return set().union(*(_paths(v, str(k)) for k, v in value.items()))
    if isinstance(value, list | tuple):
        return set().union(*(_paths(v, key) for v in value))
    if not isinstance(value, str) or "://" in value or not value or len(value) > 4096:
        return set()
    path = Path(value)
    try:
        if not path.exists():
            return set()
    except OSError:
        return set()
    found = {os.path.abspath(value)}
    if path.is_file() and path.suffix in (".yaml", ".yml"):
        found |= _paths(_yaml(path))
    return found


def _yaml(path: Path) -> Any:
    import yaml

    try:
        return yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError):
        return None
