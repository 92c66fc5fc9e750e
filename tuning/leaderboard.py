"""The leaderboard of a tuning job: one row per trial, saved as JSON and CSV, plus a plot.

``source`` says which job ran a row ("this job", or "parent <job>" for a warm start's listed
trials); ``proposed_by`` says who chose this job's configurations: "default" (the training
job's own, tuning.default_point), "parent <job> trial <n>" (a transfer seed) or "searcher".
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pandas as pd

LEADERBOARD_JSON = "leaderboard.json"
PLOT_PNG = "tuning.png"
DEFAULT = "default"  # proposed_by of the trial that ran the training job's own configuration
SEARCHER = "searcher"  # proposed_by of a configuration the searcher chose


def rows_from_results(results, metric: str, max_epochs: int, source: str) -> list[dict[str, Any]]:
    """One row per trial of a Tune ResultGrid, in trial start order."""
    rows = []
    for result in results:
        metrics = result.metrics or {}
        history = result.metrics_dataframe
        epochs = int(metrics.get("epoch", 0) or 0)
        value = metrics.get(metric)
        rows.append(
            {
                "trial_id": metrics.get("trial_id") or Path(result.path).name,
                "source": source,
                "status": "ERROR" if result.error else "TERMINATED",
                "objective": float(value) if value is not None else float("nan"),
                "epochs": epochs,
                "stopped_early": bool(0 < epochs < max_epochs and not result.error),
                # A health rule with action stop ended the trial (e.g. "nonfinite at epoch 3").
                "stopped_by_rule": metrics.get("stopped_by_rule"),
                "time_s": float(metrics.get("time_total_s", 0.0) or 0.0),
                "started": float(history["timestamp"].min())
                if history is not None and "timestamp" in history
                else 0.0,
                "config": dict(result.config or {}),
                "_index": _creation_index(metrics),
                "path": result.path,
            }
        )
    # Tune's experiment tag starts with the trial's creation index: the order the searcher
    # proposed them (start times tie within a second).
    rows.sort(key=lambda r: (r.pop("_index"), r["started"]))
    for i, row in enumerate(rows):
        row["trial"] = i + 1
    return rows


def against_default(ranked_own: list[dict[str, Any]], metric: str) -> str:
    """One line: this job's best trial against its default trial (rows best first)."""
    best = ranked_own[0]
    head = f"best {metric} {best['objective']:.4f} (trial {best['trial']})"
    default = next((r for r in ranked_own if r.get("proposed_by") == DEFAULT), None)
    if default is None:
        return f"{head}; no trial ran the training job's own configuration"
    if default is best:
        return f"{head} is the training job's own configuration: no trial beat it"
    early = f", stopped early after {default['epochs']}" if default["stopped_early"] else ""
    return (
        f"{head} against {default['objective']:.4f} for the training job's own "
        f"configuration (trial {default['trial']}{early})"
    )


def _creation_index(metrics: dict[str, Any]) -> int:
    tag = str(metrics.get("experiment_tag", ""))
    head = tag.split("_", 1)[0]
    return int(head) if head.isdigit() else 1 << 30


def ranked(rows: list[dict[str, Any]], mode: str) -> list[dict[str, Any]]:
    """Rows best first; trials without the objective go last."""
    sign = 1 if mode == "min" else -1

    def key(row):
        v = row["objective"]
        return (math.isnan(v), sign * v if not math.isnan(v) else 0.0)

    return sorted(rows, key=key)


def save(rows: list[dict[str, Any]], run_dir: str) -> None:
    import fsspec

    fs, root = fsspec.core.url_to_fs(run_dir)
    fs.makedirs(root, exist_ok=True)
    with fs.open(f"{root}/{LEADERBOARD_JSON}", "w") as f:
        json.dump(rows, f, indent=2, default=str)
    with fs.open(f"{root}/leaderboard.csv", "w") as f:
        to_frame(rows).to_csv(f, index=False)


def load(run_dir: str) -> list[dict[str, Any]] | None:
    import fsspec

    fs, root = fsspec.core.url_to_fs(run_dir)
    path = f"{root}/{LEADERBOARD_JSON}"
    if not fs.exists(path):
        return None
    with fs.open(path) as f:
        return json.load(f)


def to_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    flat = []
    for row in rows:
        base = {k: v for k, v in row.items() if k not in ("config", "path")}
        flat.append(base | {f"config.{k}": v for k, v in row["config"].items()})
    return pd.DataFrame(flat)


def plot(rows: list[dict[str, Any]], run_dir: str, metric: str, mode: str, max_epochs: int) -> str:
    """PNG in ``run_dir`` (a path or URI), its location: objective per trial with the best so
    far; epochs each trial ran (rung survival)."""
    import fsspec
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    own = [r for r in rows if r["source"] == "this job"]
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(8, 6), sharex=True)
    xs = [r["trial"] for r in own]
    ys = [r["objective"] for r in own]
    best, best_so_far = None, []
    for y in ys:
        if not math.isnan(y) and (best is None or (y < best if mode == "min" else y > best)):
            best = y
        best_so_far.append(best if best is not None else float("nan"))
    colors = ["tab:orange" if r["stopped_early"] else "tab:blue" for r in own]
    top.scatter(xs, ys, c=colors, label="trial (orange: stopped early)")
    top.plot(xs, best_so_far, color="tab:green", label="best so far")
    default = next((r for r in own if r.get("proposed_by") == DEFAULT), None)
    if default is not None and not math.isnan(default["objective"]):
        top.axhline(
            default["objective"], color="grey", linestyle=":", label="training job's own config"
        )
    top.set_ylabel(metric)
    top.legend(loc="best")
    bottom.bar(xs, [r["epochs"] for r in own], color=colors)
    bottom.axhline(max_epochs, color="grey", linestyle="--", linewidth=1)
    bottom.set_ylabel("epochs / rounds run")
    bottom.set_xlabel("trial")
    fig.tight_layout()
    fs, root = fsspec.core.url_to_fs(run_dir)
    fs.makedirs(root, exist_ok=True)
    with fs.open(f"{root}/{PLOT_PNG}", "wb") as f:  # straight there: no local copy to clean up
        fig.savefig(f, format="png", dpi=100)
    plt.close(fig)
    return f"{run_dir.rstrip('/')}/{PLOT_PNG}"
