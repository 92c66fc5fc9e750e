"""The batch part of the raymaker demo: score a 100k-row file with the approved model.

``examples/demo.py`` calls ``batch_demo`` after serving has registered and approved the tuned
model as ``cancer``; the call is the one a notebook makes (``ray_apps.run_batch``).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from rich.console import Console

from ray_apps import BatchResult, run_batch, settings
from ray_apps.data import load_dataset
from ray_apps.spec import DatasetSpec

console = Console(soft_wrap=True, highlight=False)
ROWS = 100_000


def make_input(folder: Path, rows: int = ROWS) -> Path:
    """``rows`` new patients: the bundled dataset's rows resampled, each value jittered by 5%
    of its column's spread, in a Parquet file of 4 row groups."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    data = load_dataset(DatasetSpec(source="sklearn:breast_cancer"))
    frame = data.train[data.feature_names]
    rng = np.random.default_rng(0)
    sample = frame.sample(rows, replace=True, random_state=0).reset_index(drop=True)
    noise = rng.normal(size=sample.shape) * frame.std().to_numpy() * 0.05
    sample = (sample + noise).clip(lower=0)  # sizes and areas stay non-negative
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "patients.parquet"
    pq.write_table(pa.Table.from_pandas(sample), path, row_group_size=rows // 4)
    return path


def batch_demo(model: str = "cancer") -> BatchResult:
    """Score a generated file with the newest Approved ``model``; one line says what it did."""
    console.rule("[bold]batch transform: the approved model over 100k rows")
    source = make_input(settings.home() / "demo-batch")
    start = time.perf_counter()
    result = run_batch({"name": f"{model}-scores", "model": model, "input": str(source)})
    seconds = time.perf_counter() - start
    s = result.summary
    console.print(
        f"batch {model}:{s.model['version']}: {s.rows_in:,} rows in, {s.rows_out:,} out, "
        f"{s.rows_rejected} rejected, in {seconds:.1f} s ({s.rows_in / seconds:,.0f} rows/s); "
        f"output {result.output_dir}"
    )
    return result
