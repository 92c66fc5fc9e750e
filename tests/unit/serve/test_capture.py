import random

import numpy as np
import pandas as pd

from serve.capture import CaptureWriter


def _add(writer, i, model="m", version=1):
    writer.add(
        request_id=f"r{i}",
        model=model,
        version=version,
        protocol="v1_predict",
        status=200,
        latency_ms=1.5,
        inputs=np.asarray([[i, 1.0]]),
        outputs={"predictions": [i]},
    )


def test_close_writes_every_record_into_hive_partitions(tmp_path):
    writer = CaptureWriter(tmp_path, 100, flush_interval_s=3600)  # only close() writes
    for i in range(50):
        _add(writer, i, version=1 + i % 2)
    writer.close()
    files = sorted(tmp_path.rglob("part-*.parquet"))
    assert len(files) == 2 and writer.written == 50
    assert {f.parent.parent.parent.name for f in files} == {"version=1", "version=2"}
    assert files[0].parent.name.startswith("hour=") and files[0].parent.parent.name.startswith(
        "date="
    )
    frame = pd.read_parquet(tmp_path)
    assert sorted(frame.request_id) == sorted(f"r{i}" for i in range(50))
    row = frame[frame.request_id == "r7"].iloc[0]
    assert row.inputs == "[[7.0,1.0]]" and row.outputs == '{"predictions":[7]}'
    assert str(frame.ts.dtype) == "datetime64[us, UTC]"


def test_full_buffer_flushes_before_the_interval(tmp_path):
    writer = CaptureWriter(tmp_path, 100, flush_interval_s=3600, flush_rows=10)
    for i in range(10):
        _add(writer, i)
    import time

    deadline = time.monotonic() + 10
    while writer.written < 10 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert writer.written == 10
    writer.close()


def test_share_samples_about_that_share(tmp_path):
    writer = CaptureWriter(tmp_path, 25, rng=random.Random(0))
    hits = sum(writer.sampled() for _ in range(4000))
    writer.close()
    assert 850 < hits < 1150
    assert not CaptureWriter(tmp_path, 0).sampled()
