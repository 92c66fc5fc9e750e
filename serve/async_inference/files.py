"""Payload and result files of async requests: one folder per request, written atomically.

    <storage>/<id>/request.body        the body as received (JSON, or V2 JSON + binary tensors)
    <storage>/<id>/result-<n>.json     the answer of delivery attempt n (the store names the
                                       one that counts; a fenced-out attempt deletes its own)

Every file is written under a hidden temporary name, flushed to disk and renamed into place, so
a reader never sees half a file, and a process killed mid-write leaves only a ``.tmp`` file
that the request's folder takes with it when it expires.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

from ray_apps.errors import NotFoundError

PAYLOAD = "request.body"


class RequestFiles:
    def __init__(self, root: str | Path):
        self.root = Path(root)

    def write_payload(self, request_id: str, body: bytes) -> str:
        return self._write(request_id, PAYLOAD, body)

    def write_result(self, request_id: str, attempt: int, body: bytes) -> str:
        return self._write(request_id, f"result-{attempt}.json", body)

    def read(self, request_id: str, name: str) -> bytes:
        try:
            return (self._folder(request_id) / name).read_bytes()
        except FileNotFoundError:
            raise NotFoundError(
                f"the file {name} of async request {request_id} is gone (expired or deleted)"
            ) from None

    def names(self, request_id: str) -> list[str]:
        folder = self._folder(request_id)
        return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []

    def remove(self, request_id: str, name: str | None = None) -> None:
        """Delete one file of a request, or (``name`` None) its whole folder."""
        folder = self._folder(request_id)
        if name is None:
            shutil.rmtree(folder, ignore_errors=True)
        else:
            (folder / name).unlink(missing_ok=True)

    def _folder(self, request_id: str) -> Path:
        if not request_id.isalnum():  # ids are hex; never a path
            raise NotFoundError(f"no async request {request_id!r}")
        return self.root / request_id

    def _write(self, request_id: str, name: str, data: bytes) -> str:
        folder = self._folder(request_id)
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".{name}.{uuid.uuid4().hex[:8]}.tmp"
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, folder / name)
        return name
