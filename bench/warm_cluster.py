"""Benchmark: what ``raymaker up`` saves a command that needs Ray — the same commands, cold (each
starts and stops a local Ray of its own) against warm (each joins the cluster of ``raymaker
up``), interleaved, through the CLI as a user runs them.

    .venv/bin/python bench/warm_cluster.py [--rounds 3]

Two jobs on the bundled breast-cancer data, each in a fresh process:
  tune   ``raymaker tune``: 4 random trials of a 20-round XGBoost job (FIFO)
  train  ``raymaker train`` with ``scaling.mode: distributed``: the README's XGBoost job on a
         Ray Train worker group of 2 (data this small would otherwise train in the process,
         with no Ray at all)
Each round runs every job cold (a RAYMAKER_HOME with no cluster) and warm (one whose cluster
``raymaker up`` started before the first round; its start-up is reported on its own), the
order alternating by round. Wall time of the whole command, median and spread per job.
Goal (issue 18, the warm path): every job warm at most 0.75x its cold wall time (the part
Ray's start-up takes: ray.init alone is ~4.5 s here). Exit 1 on a MISS.

Measured here (2 cores, shared, 2026-12-03, 2 rounds, 7 min): raymaker up 10.3 s, down 17.1 s.
tune: cold 35.8 s (32.8-38.9), warm 21.6 s (19.9-23.3), 0.60x; train on a worker group of 2:
cold 49.4 s (48.1-50.7), warm 32.4 s (30.2-34.6), 0.66x. PASS. What stays: Ray Tune's and Ray
Train's own start-up per job (its controller, the trial actors, the worker group: 12-16 s for a
bare 2-worker fit here), which a job's new Ray workers pay on any cluster.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

GOAL = 0.75
TUNE = {
    "name": "bench-warm-tune",
    "train": {
        "name": "bench-warm-tune-train",
        "dataset": {"source": "sklearn:breast_cancer"},
        "model": {"kind": "xgboost"},
        "hyperparameters": {"rounds": 20},
        "checkpoint": {"every": 20, "keep": 1},
    },
    "search_space": {"hyperparameters.params.eta": {"type": "uniform", "low": 0.05, "high": 0.5}},
    "objective": {"metric": "valid_logloss", "mode": "min"},
    "strategy": {"searcher": "random", "scheduler": "fifo", "seed": 0},
    "budget": {"max_trials": 4, "max_concurrent": 2},
    "trial": {"mode": "ray"},  # the Ray Tune path, which the warm cluster speeds up
}
TRAIN = {
    "name": "bench-warm-train",
    "dataset": {"source": "sklearn:breast_cancer"},
    "model": {"kind": "xgboost"},
    "hyperparameters": {"rounds": 40, "params": {"max_depth": 4, "eta": 0.2}},
    "scaling": {"num_workers": 2, "mode": "distributed"},
    "checkpoint": {"every": 10, "keep": 2},
}


def raymaker(env: dict[str, str], *args: str) -> tuple[float, str]:
    started = time.perf_counter()
    Path(env["RAYMAKER_HOME"]).mkdir(exist_ok=True)
    done = subprocess.run(
        [sys.executable, "-m", "ray_apps.cli", *args],
        env=env,
        cwd=env["RAYMAKER_HOME"],  # MLflow's ./mlruns goes there, not into the repository
        capture_output=True,
        text=True,
        timeout=600,
    )
    wall = time.perf_counter() - started
    out = done.stdout + done.stderr
    if done.returncode != 0:
        raise RuntimeError(f"raymaker {' '.join(args)} exited {done.returncode}:\n{out[-2000:]}")
    return wall, out


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):.1f} s ({min(values):.1f}-{max(values):.1f})"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    rounds = parser.parse_args().rounds
    with tempfile.TemporaryDirectory(prefix="raymaker-bench-warm-") as tmp:
        root = Path(tmp)
        (root / "user").mkdir()
        configs = {}
        for name, spec in (("tune", TUNE), ("train", TRAIN)):
            configs[name] = root / f"{name}.yaml"
            configs[name].write_text(yaml.safe_dump(spec))
        base = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
        base.update(HOME=str(root / "user"), COLUMNS="200")
        base.pop("MLFLOW_TRACKING_URI", None)
        envs = {
            temp: {**base, "RAYMAKER_HOME": str(root / f"home-{temp}")} for temp in ("cold", "warm")
        }
        up_s, _ = raymaker(envs["warm"], "up")
        print(f"raymaker up: {up_s:.1f} s", flush=True)
        seen: dict[str, dict[str, list[float]]] = {job: {"cold": [], "warm": []} for job in configs}
        try:
            for r in range(rounds):
                order = ("cold", "warm") if r % 2 == 0 else ("warm", "cold")
                for job, config in configs.items():
                    for temp in order:
                        wall, out = raymaker(envs[temp], job, "--config", str(config))
                        joined = "joined the local cluster of raymaker up" in out
                        if joined != (temp == "warm"):
                            raise RuntimeError(f"{job} {temp} ran on the wrong Ray:\n{out[-1500:]}")
                        seen[job][temp].append(wall)
                        print(f"round {r + 1} {job} {temp}: {wall:.1f} s", flush=True)
        finally:
            down_s, _ = raymaker(envs["warm"], "down")
            print(f"raymaker down: {down_s:.1f} s", flush=True)
    ratios = {}
    print()
    for job, runs in seen.items():
        ratios[job] = statistics.median(runs["warm"]) / statistics.median(runs["cold"])
        print(
            f"{job}: cold {spread(runs['cold'])}, warm {spread(runs['warm'])}, "
            f"warm/cold {ratios[job]:.2f}"
        )
    worst = max(ratios.values())
    ok = worst <= GOAL
    print(
        f"RESULT warm_vs_cold_wall_worst_job {worst:.2f} goal <= {GOAL} {'PASS' if ok else 'MISS'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
