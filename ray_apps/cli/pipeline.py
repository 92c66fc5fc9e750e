"""``raymaker pipeline …``: run a DAG of raymaker jobs on Ray, with caching and resume.

raymaker pipeline run examples/pipeline_retrain.yaml [--param min_auc=0.95] [--dry-run]
raymaker pipeline resume RUN                # after a killed driver: finished steps are kept
raymaker pipeline status RUN [--json]
raymaker pipeline list
raymaker pipeline graph FILE|RUN [--svg G.svg]  # the DAG (with states and durations for a run)
raymaker pipeline trigger FILE [--key K] [-p k=v] [--reason TEXT] [--json]  # unless K still runs
raymaker pipeline schedule TRIGGERS.yaml [--once]  # start triggers on their cron, every 30 s

Runs are recorded under the run storage (RAYMAKER_STORAGE or --storage) in pipelines/<RUN>/.
Exit codes: 0 the run succeeded, 1 a step failed (the summary names it and why), 2 bad input.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from ray_apps.errors import SpecError

pipeline_app = typer.Typer(
    add_completion=False, no_args_is_help=True, help="Pipelines: DAGs of raymaker jobs on Ray."
)
Storage = Annotated[str | None, typer.Option(help="run storage path or URI")]
Run = Annotated[str, typer.Argument(help="a run id (raymaker pipeline list)")]


def attach(app: typer.Typer) -> None:
    app.add_typer(pipeline_app, name="pipeline")


@pipeline_app.command()
def run(
    file: Annotated[Path, typer.Argument(help="the pipeline YAML")],
    param: Annotated[
        list[str] | None, typer.Option("--param", "-p", help="NAME=VALUE, repeatable")
    ] = None,
    dry_run: Annotated[bool, typer.Option(help="validate and print the DAG only")] = False,
    storage: Storage = None,
    trigger: Annotated[
        str, typer.Option(help="why it runs, recorded with the run and in MLflow")
    ] = "manual",
) -> None:
    """Validate the pipeline, then run it on Ray (joins RAY_ADDRESS if set)."""
    from pipelines import bind_parameters, describe, load_pipeline, run_pipeline, validate

    spec = load_pipeline(file)
    given = _params(param or [])
    bind_parameters(spec, given)
    graph = validate(spec)
    if dry_run:
        print(describe(graph, spec))
        return
    _exit(run_pipeline(spec, given, storage=storage, trigger=trigger))


@pipeline_app.command()
def resume(run_id: Run, storage: Storage = None) -> None:
    """Continue a run: steps that finished keep their outputs, the rest run."""
    from pipelines import resume_pipeline

    _exit(resume_pipeline(run_id, storage=storage))


@pipeline_app.command()
def status(
    run_id: Run,
    as_json: Annotated[bool, typer.Option("--json", help="the whole record as JSON")] = False,
    storage: Storage = None,
) -> None:
    """Each step's state, duration, error or cache source."""
    from dataclasses import asdict

    from pipelines import pipeline_status, validate
    from pipelines.runner import _summary
    from pipelines.spec import load_pipeline

    record = pipeline_status(run_id, storage=storage)
    if as_json:
        print(json.dumps(asdict(record), indent=1, default=str))
        return
    print(_summary(record, validate(load_pipeline(record.spec))))


@pipeline_app.command("list")
def list_runs(storage: Storage = None) -> None:
    """Pipeline runs in the run storage, newest last, with their state."""
    from pipelines.record import RunStore

    store = RunStore(storage)
    for run_id in store.list_runs():
        record = store.load(run_id)
        print(f"{run_id:50s} {record.state}")


@pipeline_app.command()
def graph(
    target: Annotated[str, typer.Argument(help="a pipeline YAML or a run id")],
    storage: Storage = None,
    svg: Annotated[Path | None, typer.Option(help="also draw the DAG as an SVG file here")] = None,
) -> None:
    """The DAG in run order: each step's kind and the steps it waits for (and, for a run,
    its state and duration)."""
    from pipelines import describe, load_pipeline, pipeline_status, validate
    from pipelines.svg import render_svg

    record = None
    if Path(target).is_file():
        spec = load_pipeline(target)
        g = validate(spec)
        print(describe(g, spec))
    else:
        from pipelines.runner import _summary

        record = pipeline_status(target, storage=storage)
        spec = load_pipeline(record.spec)
        g = validate(spec)
        print(describe(g, spec))
        print(_summary(record, g))
    if svg is not None:
        svg.parent.mkdir(parents=True, exist_ok=True)
        svg.write_text(render_svg(g, spec, record))
        print(f"wrote {svg}")


@pipeline_app.command()
def trigger(
    file: Annotated[Path, typer.Argument(help="the pipeline YAML")],
    key: Annotated[
        str | None, typer.Option(help="one run at a time per key (default: the pipeline name)")
    ] = None,
    param: Annotated[
        list[str] | None, typer.Option("--param", "-p", help="NAME=VALUE, repeatable")
    ] = None,
    reason: Annotated[str, typer.Option(help="recorded with the run, e.g. the alert")] = "manual",
    storage: Storage = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="one JSON line: status, key, run_id, pid, message")
    ] = False,
) -> None:
    """Start the pipeline in the background, unless the run last started for its key is still
    running: then nothing starts, and that is no error (a repeated alert is a no-op)."""
    from pipelines.triggers import TriggerSpec, start_once
    from ray_apps.spec import parse_spec

    given = {"pipeline": str(file), "parameters": _params(param or []), "key": key}
    spec = parse_spec(TriggerSpec, given, source="raymaker pipeline trigger")
    outcome = start_once(spec, storage=storage, reason=reason)
    if as_json:
        from dataclasses import asdict

        print(json.dumps(asdict(outcome)))
    else:
        print(outcome.message)


@pipeline_app.command()
def schedule(
    file: Annotated[Path, typer.Argument(help="a YAML file of triggers: [{pipeline, schedule}]")],
    once: Annotated[bool, typer.Option(help="one pass, then exit (tests, a crontab)")] = False,
    storage: Storage = None,
) -> None:
    """Start each trigger whose cron schedule (UTC) came round since its last fire, every 30 s."""
    import time

    from pipelines.triggers import SCHEDULE_EVERY_S, load_triggers, schedule_pass

    triggers = load_triggers(file)
    while True:
        fires = schedule_pass(triggers, storage=storage)
        for fire in fires:
            print(fire.line, flush=True)
        if once:
            if any(fire.error for fire in fires):
                raise typer.Exit(1)
            return
        time.sleep(SCHEDULE_EVERY_S - time.time() % SCHEDULE_EVERY_S)


def _params(items: list[str]) -> dict[str, str]:
    out = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise SpecError(f"--param {item!r}: write NAME=VALUE")
        out[name] = value
    return out


def _exit(record) -> None:
    if record.state != "succeeded":
        raise typer.Exit(1)
