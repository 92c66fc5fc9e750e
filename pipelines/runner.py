"""Run a pipeline on Ray: steps as Ray tasks under this one driver, independent ones at once.

    from pipelines import run_pipeline, resume_pipeline
    run = run_pipeline("examples/pipeline_retrain.yaml", {"min_auc": 0.95})
    run.state, run.steps["train"].outputs["artifact"]
    resume_pipeline(run.run_id)            # after a killed driver: finished steps are kept

Each job step (train, tune, evaluate, register, …) runs as a Ray task that calls the job's
public function (``pipelines.steps``); the task asks for no CPU of its own, the job's Ray Train
workers or Tune trials do. ``condition`` and ``fail`` are decided here. What may start next is
``pipelines.schedule``'s decision; every change of a step's state is written to the run record
(``pipelines.record``) before the next decision, so ``resume`` continues from the record alone.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from pipelines import lineage
from pipelines import schedule as S
from pipelines.cache import cache_key, code_version, fresh
from pipelines.condition import evaluate_condition
from pipelines.graph import Graph, validate
from pipelines.kinds import KINDS
from pipelines.record import RunRecord, RunStore, StepRecord, new_run_id
from pipelines.refs import parse_guard, resolve
from pipelines.spec import PipelineSpec, bind_parameters, load_pipeline
from pipelines.steps import StepContext
from ray_apps.errors import RaymakerError

_IN_DRIVER = ("condition", "fail")
POLL_S = 0.2


def run_pipeline(
    source: PipelineSpec | Mapping[str, Any] | str | Path,
    parameters: Mapping[str, Any] | None = None,
    *,
    storage: str | None = None,
    out: Callable[[str], None] = print,
    trigger: str | None = None,
) -> RunRecord:
    """Validate, record and run a pipeline; returns its record (``state`` succeeded/failed).
    ``trigger``: why it runs (an alert, a schedule), kept in the record and in MLflow."""
    spec = source if isinstance(source, PipelineSpec) else load_pipeline(source)
    bound = bind_parameters(spec, parameters or {})
    graph = validate(spec)
    store = RunStore(storage)
    run = RunRecord(
        run_id=new_run_id(spec.name),
        pipeline=spec.name,
        spec=spec.model_dump(mode="json", by_alias=True, exclude_none=True),
        parameters=bound,
        created_at=time.time(),
        steps={s: StepRecord() for s in graph.order},
        trigger=trigger,
    )
    for s, record in run.steps.items():
        store.save_step(run.run_id, s, record)
    where = store.run_dir(run.run_id)
    out(f"[raymaker] pipeline run {run.run_id} ({len(graph.order)} steps) in {where}")
    return _Runner(spec, graph, run, store, out).run()


def resume_pipeline(
    run_id: str, *, storage: str | None = None, out: Callable[[str], None] = print
) -> RunRecord:
    """Continue a run: finished steps keep their outputs; the others run (again)."""
    store = RunStore(storage)
    run = store.load(run_id)
    spec = load_pipeline(run.spec)
    graph = validate(spec)
    again = [s for s, r in run.steps.items() if r.state not in S.DONE]
    for s in again:
        previous = run.steps[s]
        run.steps[s] = StepRecord(attempts=previous.attempts)
        store.save_step(run.run_id, s, run.steps[s])
    run.state, run.ended_at = "running", None
    store.save_run(run)
    kept = [s for s in graph.order if s not in again]
    out(f"[raymaker] resuming pipeline run {run_id}: kept {kept or 'nothing'}, to run {again}")
    return _Runner(spec, graph, run, store, out).run()


def pipeline_status(run_id: str, *, storage: str | None = None) -> RunRecord:
    return RunStore(storage).load(run_id)


class _Runner:
    def __init__(self, spec: PipelineSpec, graph: Graph, run: RunRecord, store: RunStore, out):
        self.spec, self.graph, self.run_, self.store, self.out = spec, graph, run, store, out
        self.running: dict[Any, str] = {}  # Ray object ref → step
        self.retry_at: dict[str, float] = {}
        self._task = None
        self._lineage_error: str | None = None

    # -- the loop ------------------------------------------------------------------------------
    def run(self) -> RunRecord:
        if self.run_.mlflow_run_id is None:
            self.run_.mlflow_run_id = self._lineage(lineage.open_pipeline_run, self.run_)
        self.store.save_run(self.run_)
        try:
            while (state := S.outcome(self.states())) is None:
                self._settle()
                for step in S.startable(self.graph, self.states()):
                    if self.retry_at.get(step, 0.0) <= time.monotonic():
                        self._start(step)
                self._collect()
        finally:
            for ref in list(self.running):  # interrupted: nothing of ours keeps running
                self._cancel(ref)
        self.run_.state, self.run_.ended_at = state, time.time()
        self.store.save_run(self.run_)
        if self.run_.mlflow_run_id:
            self._lineage(lineage.close_pipeline_run, self.run_)
        self.out(_summary(self.run_, self.graph))
        return self.run_

    def states(self) -> dict[str, str]:
        return {s: r.state for s, r in self.run_.steps.items()}

    def _settle(self) -> None:
        for step in S.to_skip(self.graph, self.states()):
            gone = [u for u in self.graph.upstream[step] if self.run_.steps[u].state == S.SKIPPED]
            self._finish(step, S.SKIPPED, reason=f"{', '.join(gone)} skipped")
        for step in S.to_block(self.graph, self.states()):
            bad = [
                u
                for u in self.graph.upstream[step]
                if self.run_.steps[u].state in (S.FAILED, S.BLOCKED)
            ]
            self._finish(step, S.BLOCKED, reason=f"{', '.join(bad)} did not succeed")

    # -- one step ------------------------------------------------------------------------------
    def _start(self, step: str) -> None:
        spec = self.spec.steps[step]
        record = self.run_.steps[step]
        outputs = {s: r.outputs or {} for s, r in self.run_.steps.items() if r.state in S.DONE}
        try:
            if spec.if_ is not None and not parse_guard(spec.if_).holds(
                self.run_.parameters, outputs
            ):
                self._finish(step, S.SKIPPED, reason=f"'if: {spec.if_}' does not hold")
                return
            inputs = _absolute_paths(spec.kind, resolve(spec.with_, self.run_.parameters, outputs))
        except RaymakerError as err:
            self._finish(step, S.FAILED, error=str(err))
            return
        record.inputs = inputs
        if spec.kind in _IN_DRIVER:
            self._decide(step, spec.kind, inputs)
            return
        if spec.cache.enabled and self._from_cache(step, inputs):
            return
        record.state, record.started_at = S.RUNNING, time.time()
        record.attempts.append({"started": record.started_at})
        self.store.save_step(self.run_.run_id, step, record)
        ctx = StepContext(self.run_.run_id, step, self.spec.name, self.store.root)
        ref = self._remote().options(name=f"{self.spec.name}.{step}").remote(spec.kind, inputs, ctx)
        self.running[ref] = step
        n = len(record.attempts)
        self.out(f"[raymaker] {step}: started ({spec.kind}{f', attempt {n}' if n > 1 else ''})")

    def _decide(self, step: str, kind: str, inputs: Mapping[str, Any]) -> None:
        record = self.run_.steps[step]
        record.started_at = time.time()
        if kind == "fail":
            self._finish(step, S.FAILED, error=str(inputs["message"]))
            return
        try:
            passed = evaluate_condition(inputs)
        except RaymakerError as err:
            self._finish(step, S.FAILED, error=str(err))
            return
        self._finish(step, S.SUCCEEDED, outputs={"passed": passed})

    def _from_cache(self, step: str, inputs: Mapping[str, Any]) -> bool:
        spec, record = self.spec.steps[step], self.run_.steps[step]
        record.cache_key, _ = cache_key(spec.kind, inputs, code_version())
        entry = self.store.cached(record.cache_key)
        if entry is None or not fresh(entry, spec.cache.expire_after_s, time.time()):
            return False
        record.cache_source = {"run_id": entry["run_id"], "step": entry["step"]}
        record.started_at = time.time()
        self._finish(step, S.CACHED, outputs=entry["outputs"])
        return True

    def _collect(self) -> None:
        if not self.running:
            if any(r.state == S.PENDING for r in self.run_.steps.values()):
                time.sleep(POLL_S)  # a retry waits for its time
            return
        import ray

        done, _ = ray.wait(list(self.running), num_returns=1, timeout=POLL_S)
        for ref in done:
            step = self.running.pop(ref)
            try:
                outputs = ray.get(ref)
            except Exception as err:  # noqa: BLE001 — the step's error, retried or recorded
                self._failed(step, _cause(err))
                continue
            self._succeeded(step, outputs)
        now = time.time()
        for ref, step in list(self.running.items()):
            limit = self.spec.steps[step].timeout_s
            if limit is not None and now - self.run_.steps[step].started_at > limit:
                self.running.pop(ref)
                self._cancel(ref)
                self._failed(step, f"timed out after {limit:g} s (timeout_s)")

    def _succeeded(self, step: str, outputs: dict[str, Any]) -> None:
        spec, record = self.spec.steps[step], self.run_.steps[step]
        record.attempts[-1]["ended"] = time.time()
        if spec.cache.enabled:
            if record.cache_key is None:
                record.cache_key, _ = cache_key(spec.kind, record.inputs or {}, code_version())
            entry = {"outputs": outputs, "run_id": self.run_.run_id, "step": step}
            self.store.put_cache(record.cache_key, {**entry, "created_at": time.time()})
        self._finish(step, S.SUCCEEDED, outputs=outputs)

    def _failed(self, step: str, error: str) -> None:
        spec, record = self.spec.steps[step], self.run_.steps[step]
        record.attempts[-1].update(ended=time.time(), error=error)
        n = len(record.attempts)
        if n < spec.retry.attempts:
            delay = spec.retry.delay_s(n)
            self.retry_at[step] = time.monotonic() + delay
            record.state, record.error = S.PENDING, error
            self.store.save_step(self.run_.run_id, step, record)
            self.out(f"[raymaker] {step}: attempt {n} failed: {error}; retrying in {delay:g} s")
            return
        self._finish(step, S.FAILED, error=error)

    def _finish(self, step: str, state: str, *, outputs=None, error=None, reason=None) -> None:
        record = self.run_.steps[step]
        record.state, record.ended_at = state, time.time()
        record.outputs, record.error, record.reason = outputs, error, reason
        if record.started_at is None:
            record.started_at = record.ended_at
        self.store.save_step(self.run_.run_id, step, record)
        if self.run_.mlflow_run_id:
            kind = self.spec.steps[step].kind
            self._lineage(lineage.log_step, self.run_, step, kind, record)
        took = f" in {record.duration_s:.1f} s" if state in (S.SUCCEEDED, S.FAILED) else ""
        why = error or reason or ""
        if state == S.CACHED:
            why = f"from run {record.cache_source['run_id']}"
        self.out(f"[raymaker] {step}: {state}{took}{f': {why}' if why else ''}")

    def _lineage(self, call, *args):
        """Record in MLflow; an unreachable MLflow is said once and never fails the run."""
        try:
            return call(*args)
        except Exception as err:  # noqa: BLE001 — lineage is a record, not a step
            if str(err) != self._lineage_error:
                self.out(f"[raymaker] lineage not recorded in MLflow: {err}")
            self._lineage_error = str(err)
            return None

    # -- Ray -----------------------------------------------------------------------------------
    def _remote(self):
        if self._task is None:
            import ray

            from ray_apps._ray_runtime import ensure_ray

            ensure_ray()
            # No CPU for the task itself: the job it calls asks for its workers' resources.
            self._task = ray.remote(num_cpus=0, max_retries=0)(_execute)
        return self._task

    def _cancel(self, ref) -> None:
        import ray

        with contextlib.suppress(Exception):  # already finished, or its worker is gone
            ray.cancel(ref, force=True)


def _execute(kind: str, inputs: Mapping[str, Any], ctx: StepContext) -> dict[str, Any]:
    from pipelines.steps import executor

    return executor(kind)(inputs, ctx)


def _cause(err: Exception) -> str:
    """The step's own error, without Ray's wrapping and traceback."""
    cause = getattr(err, "cause", None) or err
    text = str(cause).strip()
    if not text:
        return type(cause).__name__
    if not isinstance(cause, RaymakerError):
        text = f"{type(cause).__name__}: {text}"
    return text.splitlines()[-1] if "Traceback" in text else text


def _absolute_paths(kind: str, inputs: dict[str, Any]) -> dict[str, Any]:
    """Local relative paths made absolute here, where the pipeline file's user ran it."""
    types = KINDS[kind].inputs
    out = dict(inputs)
    for name, value in inputs.items():
        local = isinstance(value, str) and "://" not in value
        if types.get(name) == "path" and local and Path(value).exists():
            out[name] = str(Path(value).resolve())
    return out


def _summary(run: RunRecord, graph: Graph) -> str:
    lines = [f"pipeline run {run.run_id}: {run.state}"]
    for s in graph.order:
        r = run.steps[s]
        took = f"{r.duration_s:7.1f} s" if r.duration_s is not None else " " * 9
        note = r.error or r.reason or ""
        if r.cache_source:
            note = f"cached from {r.cache_source['run_id']}"
        lines.append(f"  {s:20s} {r.state:9s} {took}  {note}")
    return "\n".join(lines)
