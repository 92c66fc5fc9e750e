"""Capture files written as the endpoint lays them out (schema.to_table into partitions), with
known predictions, so readouts can be checked against sklearn and scipy. No serve, no Ray."""

from datetime import UTC, datetime

import numpy as np
import pyarrow.parquet as pq
import pytest

from ray_apps.capture.schema import CaptureRecord, file_name, partition, to_table
from ray_apps.prediction import from_scores

FEATURES = ["a", "b"]


def answer(rid, ts, version, variant, scores=None, *, shadow=False, status=200, latency=1.0,
           classes=(0, 1)):  # fmt: skip
    """One captured request: ``scores`` (n, k) probabilities, or (n,) values when no classes."""
    if status != 200 or scores is None:
        return CaptureRecord(ts, rid, "m", str(version), "v1_predict", status, latency, FEATURES,
                             None, None, "boom", b"{}", variant, shadow)  # fmt: skip
    scores = np.asarray(scores, float)
    task = "classification" if classes else "regression"
    pred = from_scores(scores, task, list(classes))
    x = np.ones((len(scores), len(FEATURES)))
    return CaptureRecord(ts, rid, "m", str(version), "v1_predict", 200, latency, FEATURES, x,
                         pred, None, None, variant, shadow)  # fmt: skip


def write(root, records):
    """Each version's records of one hour as one part file, as CaptureWriter does."""
    groups = {}
    for r in records:
        groups.setdefault((r.version, int(r.ts // 3600)), []).append(r)
    for (version, _), rows in groups.items():
        ts = datetime.fromtimestamp(rows[0].ts, UTC)
        folder = partition(root, "m", version, ts)
        folder.mkdir(parents=True, exist_ok=True)
        pq.write_table(to_table(rows), folder / file_name(ts))


@pytest.fixture()
def capture(tmp_path):
    def _write(records, folder="capture"):
        write(tmp_path / folder, records)
        return tmp_path / folder

    return _write


@pytest.fixture()
def make():
    """``make(rid, ts, version, variant, scores, ...)``: one captured request (``answer``)."""
    return answer
