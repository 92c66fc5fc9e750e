"""Pipeline runs from their records (``pipelines.record.RunStore``) and their DAG as SVG."""

from __future__ import annotations

from dataclasses import dataclass

from console.readers.names import segment


@dataclass(frozen=True)
class PipelineRow:
    run_id: str
    pipeline: str
    state: str
    created_at: float
    trigger: str | None
    steps: dict[str, str]  # step → state


def list_pipeline_runs(storage: str) -> list[PipelineRow]:
    """Every pipeline run under ``storage``, newest first."""
    from pipelines.record import RunStore

    store = RunStore(storage)
    rows = []
    for run_id in reversed(store.list_runs()):
        run = store.load(run_id)
        steps = {name: step.state for name, step in run.steps.items()}
        rows.append(
            PipelineRow(run_id, run.pipeline, run.state, run.created_at, run.trigger, steps)
        )
    return rows


def pipeline_svg(storage: str, run_id: str) -> tuple[PipelineRow, str]:
    """One run's row and its DAG drawn with each step's state (``pipelines.svg``)."""
    from pipelines import load_pipeline, validate
    from pipelines.record import RunStore
    from pipelines.svg import render_svg

    run = RunStore(storage).load(segment(run_id, "pipeline run"))
    spec = load_pipeline(run.spec)
    steps = {name: step.state for name, step in run.steps.items()}
    row = PipelineRow(run.run_id, run.pipeline, run.state, run.created_at, run.trigger, steps)
    return row, render_svg(validate(spec), spec, run)
