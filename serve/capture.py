"""Data capture: a sampled share of requests and responses, written as Parquet partitions.

    <path>/model=<name>/version=<v>/date=YYYY-MM-DD/hour=HH/part-<time>-<uuid>.parquet

One row per sampled call: ``ts`` (UTC), ``request_id``, ``model``, ``version``, ``protocol``,
``status``, ``latency_ms``, ``inputs`` (JSON rows in feature order), ``outputs`` (JSON answer or
error). The request path only appends to an in-memory buffer; a background thread writes every
``flush_interval_s`` or ``flush_rows``, and ``close()`` writes what is left, so a clean shutdown
loses no sampled record. Read it back with ``pandas.read_parquet(path)`` (hive partitions).
"""

from __future__ import annotations

import json
import random
import threading
import time
import uuid
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

COLUMNS = (
    "ts",
    "request_id",
    "model",
    "version",
    "protocol",
    "status",
    "latency_ms",
    "inputs",
    "outputs",
)


class CaptureWriter:
    """Samples ``percent`` of calls into Parquet under ``path`` off the request path."""

    def __init__(
        self,
        path: str | Path,
        percent: float,
        *,
        flush_interval_s: float = 2.0,
        flush_rows: int = 5000,
        rng: random.Random | None = None,
    ):
        self.path = Path(path)
        self.share = percent / 100.0
        self._interval = flush_interval_s
        self._flush_rows = flush_rows
        self._rng = rng or random.Random()
        # The request path appends under a lock and returns; the writer thread wakes every
        # interval (or when the buffer is full) and takes the whole buffer at once, so the
        # serving thread never waits on I/O and is not woken per record.
        self._buffer: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._closed = False
        self.written = 0
        self._thread = threading.Thread(target=self._run, name="raymaker-capture", daemon=True)
        if self.share > 0:
            self._thread.start()

    def sampled(self) -> bool:
        """Whether this call is captured; decided before building its record."""
        return self.share > 0 and not self._closed and self._rng.random() < self.share

    def add(
        self,
        *,
        request_id: str,
        model: str,
        version: int | str,
        protocol: str,
        status: int,
        latency_ms: float,
        inputs: Any,
        outputs: Any,
    ) -> None:
        """Queue one record (never blocks on I/O); ``inputs`` may be an array or JSON-able."""
        record = {
            "ts": time.time(),
            "request_id": request_id,
            "model": model,
            "version": str(version),
            "protocol": protocol,
            "status": int(status),
            "latency_ms": float(latency_ms),
            "inputs": inputs,
            "outputs": outputs,
        }
        with self._lock:
            self._buffer.append(record)
            full = len(self._buffer) >= self._flush_rows
        if full:
            self._wake.set()

    def close(self, timeout_s: float = 30.0) -> None:
        """Stop sampling, write every buffered record, and stop the thread."""
        if self._closed:
            return
        self._closed = True
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout_s)

    def alive(self) -> bool:
        return self.share == 0 or self._closed or self._thread.is_alive()

    def _run(self) -> None:
        while True:
            self._wake.wait(self._interval)
            self._wake.clear()
            with self._lock:
                records, self._buffer = self._buffer, []
            self._write(records)
            if self._closed:
                with self._lock:  # anything added while closing
                    records, self._buffer = self._buffer, []
                self._write(records)
                return

    def _write(self, records: list[dict[str, Any]]) -> None:
        if not records:
            return
        import pyarrow as pa
        import pyarrow.parquet as pq

        groups: dict[Path, list[dict[str, Any]]] = defaultdict(list)
        for r in records:
            r["ts"] = datetime.fromtimestamp(r["ts"], UTC)
            groups[partition(self.path, r["model"], r["version"], r["ts"])].append(r)
        for folder, rows in groups.items():
            folder.mkdir(parents=True, exist_ok=True)
            table = pa.table(
                {
                    "ts": pa.array([r["ts"] for r in rows], pa.timestamp("us", tz="UTC")),
                    "request_id": [r["request_id"] for r in rows],
                    "protocol": [r["protocol"] for r in rows],
                    "status": pa.array([r["status"] for r in rows], pa.int32()),
                    "latency_ms": [r["latency_ms"] for r in rows],
                    "inputs": [_dumps(r["inputs"]) for r in rows],
                    "outputs": [_dumps(r["outputs"]) for r in rows],
                }
            )
            stamp = rows[0]["ts"].strftime("%Y%m%dT%H%M%S")
            name = f"part-{stamp}-{uuid.uuid4().hex[:8]}.parquet"
            tmp = folder / f".{name}.tmp"
            pq.write_table(table, tmp)
            tmp.rename(folder / name)  # readers never see half a file
            self.written += len(rows)


def partition(root: Path, model: str, version: str, ts: datetime) -> Path:
    """The hive-style folder one record belongs in."""
    return root / f"model={model}" / f"version={version}" / f"date={ts:%Y-%m-%d}" / f"hour={ts:%H}"


def _dumps(value: Any) -> str:
    if isinstance(value, str):
        return value
    if hasattr(value, "tolist"):  # a numpy feature matrix, converted here, off the request path
        value = value.tolist()
    return json.dumps(value, separators=(",", ":"))
