"""The pipeline part of the raymaker demo: train → evaluate → gate → register, run twice.

``examples/demo.py`` calls ``pipeline_demo`` last. The first run trains and registers a
Pending version when the held-out ROC AUC clears the gate; the second run of the same
pipeline on unchanged data is all cache hits (the steps' keys cover the job file, the data's
content and the code), in a fraction of the time. The same as:

    raymaker pipeline run examples/pipeline_retrain.yaml --param model=cancer-pipeline
"""

from __future__ import annotations

import time
from pathlib import Path

from rich.console import Console

from pipelines import run_pipeline

console = Console(soft_wrap=True, highlight=False)
PIPELINE = Path(__file__).resolve().parent / "pipeline_retrain.yaml"
PARAMETERS = {"model": "cancer-pipeline", "min_auc": 0.95}


def pipeline_demo() -> bool:
    """Run the pipeline twice; True when the first succeeded and the second reused it all."""
    timings = []
    for attempt in ("first run", "second run, nothing changed"):
        console.print(f"[bold]{attempt}[/bold]")
        start = time.perf_counter()
        run = run_pipeline(PIPELINE, PARAMETERS, out=lambda line: console.print(line, markup=False))
        timings.append(time.perf_counter() - start)
        if run.state != "succeeded":
            console.print(f"[red]pipeline run {run.run_id} {run.state}[/red]")
            return False
    jobs = [s for s, r in run.steps.items() if r.inputs is not None and s not in ("gate",)]
    reused = [s for s in jobs if run.steps[s].state == "cached"]
    console.print(
        f"first run {timings[0]:.1f} s; second run {timings[1]:.1f} s with "
        f"{len(reused)} of {len(jobs)} job steps from the cache ({', '.join(reused)}); "
        f"version {run.steps['register'].outputs['ref']} registered once, Pending approval"
    )
    return len(reused) == len(jobs)
