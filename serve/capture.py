"""The data capture writer: a sampled share of calls, written as Parquet off the request path.

The format (hive partitions, one typed row per request row) is ``ray_apps.capture.schema``'s;
read it back with ``ray_apps.read_capture``. The request path only appends a
``CaptureRecord`` (references to the parsed matrix and the prediction, no conversion) to an
in-memory buffer; a background thread builds the columns and writes every
``flush_interval_s`` or ``flush_rows``, each file written aside and renamed into place, and
``close()`` writes what is left, so a clean shutdown loses no sampled record. ``path`` may be a
folder or an fsspec URI (``s3://…``), where each file is one whole-object upload instead.
"""

from __future__ import annotations

import random
import threading
import time
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

import numpy as np

from ray_apps.capture.schema import BODY_LIMIT, CaptureRecord, file_name, partition, to_table
from ray_apps.prediction import Prediction


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
        # An object store: files are uploaded whole (readers never see half an object), to
        # paths the filesystem names without its scheme.
        self._remote = None
        if "://" in str(path) and not str(path).startswith("file://"):
            import fsspec

            fs, root = fsspec.core.url_to_fs(str(path))
            self._remote = (fs, PurePosixPath(root))
        self.share = percent / 100.0
        self._interval = flush_interval_s
        self._flush_rows = flush_rows
        self._rng = rng or random.Random()
        # The request path appends under a lock and returns; the writer thread wakes every
        # interval (or when the buffer is full) and takes the whole buffer at once, so the
        # serving thread never waits on I/O and is not woken per record.
        self._buffer: list[CaptureRecord] = []
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._closed = False
        self.written = 0  # records (requests) written
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
        features: Sequence[str],
        inputs: np.ndarray | None = None,
        prediction: Prediction | None = None,
        error: str | None = None,
        body: bytes | None = None,
        variant: str | None = None,
        shadow: bool = False,
    ) -> None:
        """Queue one call (never blocks on I/O). ``inputs``: the parsed feature matrix, or
        None when it did not parse, and then ``body`` is kept. ``variant``: the endpoint
        variant that answered; ``shadow``: a shadow copy's answer, not returned to the caller."""
        record = CaptureRecord(
            time.time(),
            request_id,
            model,
            str(version),
            protocol,
            int(status),
            float(latency_ms),
            features,
            inputs,
            prediction,
            error,
            # A failed body is kept only up to what the file stores: bodies may be megabytes.
            body[:BODY_LIMIT] if inputs is None and body is not None else None,
            variant,
            bool(shadow),
        )
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

    def _write(self, records: list[CaptureRecord]) -> None:
        import pyarrow.parquet as pq

        # One file per model version (one feature list) and UTC hour. The key is plain values,
        # and the folder is built once per group: a pathlib partition per record was two thirds
        # of a flush (3,200 records: 80 of 116 ms), CPU the replica shares on a small machine.
        groups: dict[tuple[str, str, int], list[CaptureRecord]] = defaultdict(list)
        for r in records:
            groups[r.model, r.version, int(r.ts // 3600)].append(r)
        for (model, version, _), rows in groups.items():
            if self._remote is not None:
                self._upload(model, version, rows)
                continue
            folder = partition(self.path, model, version, datetime.fromtimestamp(rows[0].ts, UTC))
            folder.mkdir(parents=True, exist_ok=True)
            name = file_name(datetime.fromtimestamp(rows[0].ts, UTC))
            tmp = folder / f".{name}.tmp"
            pq.write_table(to_table(rows), tmp)
            tmp.rename(folder / name)  # readers never see half a file
            self.written += len(rows)

    def _upload(self, model: str, version: str, rows: list[CaptureRecord]) -> None:
        import pyarrow.parquet as pq

        fs, root = self._remote
        ts = datetime.fromtimestamp(rows[0].ts, UTC)
        with fs.open(str(partition(root, model, version, ts) / file_name(ts)), "wb") as f:
            pq.write_table(to_table(rows), f)
        self.written += len(rows)


def capture_writer(settings) -> CaptureWriter | None:
    """The writer a replica with these ``ReplicaSettings`` captures into (None: capture off)."""
    cap = settings.capture
    if cap.percent <= 0:
        return None
    return CaptureWriter(
        cap.path, cap.percent, flush_interval_s=cap.flush_interval_s, flush_rows=cap.flush_rows
    )
