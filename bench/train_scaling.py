"""Benchmark: Ray Train DDP scaling (2 workers vs 1) and checkpoint overhead.

    .venv/bin/python bench/train_scaling.py

Three configurations of the same MLP job on the same synthetic data, one Ray instance:
  A  1 worker,  checkpoint every epoch
  B  2 workers, checkpoint every epoch
  C  2 workers, checkpoint at the end only  (the baseline for checkpoint overhead)
Throughput is global training rows/s (median over epochs after the first). Checkpoint overhead
is B's extra time per epoch over C's, as a share of C's epoch time. This box is noisy (one C
run came out slower than B), so each round runs all three in a rotated order, ROUNDS rounds
(RAYMAKER_BENCH_ROUNDS, default 3); the figures are the medians of the per-round ratios, with
their spread. Goals: B/A throughput >= 1.7x; checkpoint overhead <= 5%.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ray_apps import run_training  # noqa: E402
from ray_apps._ray_runtime import ensure_ray  # noqa: E402

ROWS, FEATURES, EPOCHS = 120_000, 32, 5
SPEEDUP_GOAL, OVERHEAD_GOAL = 1.7, 0.05


def make_data(folder: Path) -> str:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(ROWS, FEATURES))
    w = rng.normal(size=FEATURES)
    frame = pd.DataFrame(x, columns=[f"f{i}" for i in range(FEATURES)])
    frame["label"] = (x @ w + 0.5 * rng.normal(size=ROWS) > 0).astype(int)
    path = folder / "synthetic.parquet"
    frame.to_parquet(path)
    return str(path)


def run(name: str, source: str, storage: str, workers: int, every: int):
    return run_training(
        {
            "name": name,
            "dataset": {"source": source, "label": "label", "split": {"valid": 0.05, "test": 0.05}},
            "model": {"kind": "torch", "params": {"hidden_sizes": [512, 512]}},
            "hyperparameters": {"epochs": EPOCHS, "batch_size": 8192, "lr": 0.004},
            "scaling": {"num_workers": workers, "mode": "distributed"},
            "checkpoint": {"every": every, "keep": 1},
            "tracking": {"experiment": "bench"},
        },
        storage=storage,
    )


def main() -> int:
    rounds = int(os.environ.get("RAYMAKER_BENCH_ROUNDS", 3))
    configs = {"A": (1, 1), "B": (2, 1), "C": (2, EPOCHS)}  # (workers, checkpoint every)
    speedups, overheads = [], []
    with tempfile.TemporaryDirectory() as tmp:
        source = make_data(Path(tmp))
        ensure_ray()
        for i in range(rounds):
            order = list(configs)[i % 3 :] + list(configs)[: i % 3]  # interleave the three
            results = {}
            for key in order:
                workers, every = configs[key]
                results[key] = run(f"bench-{key}", source, tmp, workers=workers, every=every)
            speedups.append(rows_per_s(results["B"]) / rows_per_s(results["A"]))
            overheads.append((period(results["B"]) - period(results["C"])) / period(results["C"]))
            print(
                f"round {i + 1}/{rounds} ({''.join(order)}): "
                + ", ".join(f"{k} {rows_per_s(results[k]):,.0f} rows/s" for k in configs)
                + f"; speedup {speedups[-1]:.2f}x, checkpoint overhead {overheads[-1]:+.1%}",
                flush=True,
            )
    speedup, overhead = statistics.median(speedups), statistics.median(overheads)
    print(
        f"throughput 2 workers / 1 worker: median {speedup:.2f}x "
        f"(spread {min(speedups):.2f}-{max(speedups):.2f}, goal >= {SPEEDUP_GOAL}x)"
    )
    ckpt_ok = overhead <= OVERHEAD_GOAL
    print(
        f"CHECK checkpoint_overhead {overhead:.3f} goal <= {OVERHEAD_GOAL} "
        f"{'PASS' if ckpt_ok else 'MISS'} (spread {min(overheads):+.3f}..{max(overheads):+.3f})"
    )
    ok = speedup >= SPEEDUP_GOAL and ckpt_ok
    # The one RESULT line carries the speedup; its verdict covers both goals.
    verdict = "PASS" if ok else "MISS"
    print(f"RESULT ddp_speedup_2v1 {speedup:.2f} goal >= {SPEEDUP_GOAL} {verdict}")
    return 0 if ok else 1


def rows_per_s(r) -> float:
    return statistics.median(h["rows_per_s"] for h in r.history[1:])


def period(r) -> float:  # wall seconds per epoch: training, validation, report and checkpoint
    return statistics.median(h["epoch_time_s"] + h["report_time_s"] for h in r.history[1:-1])


if __name__ == "__main__":
    sys.exit(main())
