"""``run_batch``: a batch transform job, exactly once, resumable, on Ray Data.

    result = run_batch("batch.yaml")         # or a BatchJobSpec / dict
    result = run_batch(resume="iris-scores-20261124-…")    # after the driver died

The run folder (unique name, like training's) holds ``plan.json`` (the input's files and the
units, saved before any work), ``batch.yaml`` (the job's spec), ``output/`` and ``rejects/``
(one part per unit), ``units/`` (a unit's stats: it is committed), and ``summary.json``,
written last. The model version is resolved once and pinned
in the run log, so a resumed run scores its remaining units with the same version.
"""

from __future__ import annotations

import json
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import yaml

from ray_apps import settings
from ray_apps._ray_errors import raymaker_error
from ray_apps.batch import _restart_warning, _storage
from ray_apps.batch.plan import Unit, fingerprint, input_changes, list_input, plan_units
from ray_apps.batch.scorer import ScorerConfig, UnitScorer
from ray_apps.batch.spec import BatchJobSpec, parse_batch_spec
from ray_apps.batch.summary import Summary, UnitStats, summarize
from ray_apps.batch.transform import OUTPUT, REJECTS, UnitContext, committed
from ray_apps.errors import ApprovalError, DataError, RaymakerError, SpecError
from ray_apps.registry import ModelVersion, resolve_for_deploy
from ray_apps.training import RunFolder, find_run_folder, new_run_folder

# The job's spec as the run saved it: what a new run over changed input is started with.
SPEC_FILE = "batch.yaml"
# A unit whose worker dies is retried on a restarted actor; a unit that kills every worker
# it meets fails the job after this many tries instead of looping.
MAX_RETRIES = 3


@dataclass(frozen=True)
class BatchResult:
    """Where a batch job wrote, and what it did."""

    run_dir: str
    output_dir: str
    rejects_dir: str
    summary: Summary
    resumed_units: int  # units already committed when this call started


def default_concurrency(cluster_cpus: float, pending_units: int) -> int:
    """Actors for a job: one per CPU but one (left to Ray Data), never more than units."""
    return max(1, min(pending_units, int(cluster_cpus) - 1))


def run_batch(
    spec: BatchJobSpec | dict | str | Path | None = None,
    *,
    resume: str | None = None,
    storage: str | None = None,
    run_name: str | None = None,
    progress: Callable[[str], None] = lambda line: print(line, flush=True),
) -> BatchResult:
    """Run (or ``resume``) a batch transform job; ``progress`` gets a line per finished unit.

    ``run_name`` names the new run folder (default ``<name>-<time>-<id>``): ``start_batch``
    picks it when the job is submitted, so the job's status can be found before it runs.
    """
    started = time.monotonic()
    spec, folder, pinned = _open_run(spec, resume, storage, run_name)
    mv = resolve_model(spec, pinned)
    files = list_input(spec.input)
    units = _plan(folder, spec, mv, files)
    fs, run_dir = _storage.filesystem(folder.run_dir)
    folder.announce("batch transform")
    ctx = UnitContext(
        folder.run_dir, mv.name, mv.version, spec.id_column, spec.keep, spec.batch_size, spec.strict
    )
    done = {u.index: s for u in units if (s := committed(fs, run_dir, u)) is not None}
    pending = [u for u in units if u.index not in done]
    if pending:
        _score(spec, ScorerConfig(mv, ctx, spec.inject), pending, len(units), progress)
    stats = [committed(fs, run_dir, u) for u in units]
    _check_strict(spec, stats)
    missing = [u.index for u, s in zip(units, stats, strict=True) if s is None]
    if missing:  # Ray Data finished without them: never summarize a partial output
        raise RaymakerError(
            f"units {missing} of run {folder.name} were not committed; finish them with "
            f"raymaker batch --resume {folder.name}"
        )
    summary = summarize(
        stats,
        duration_s=time.monotonic() - started,
        model={"name": mv.name, "version": mv.version, "manifest_sha256": mv.manifest_sha256},
        input_fingerprint=fingerprint(files),
    )
    _storage.write_json(fs, f"{run_dir}/summary.json", summary.to_dict())
    return BatchResult(
        folder.run_dir,
        f"{folder.run_dir}/{OUTPUT}",
        f"{folder.run_dir}/{REJECTS}",
        summary,
        len(done),
    )


def _open_run(spec, resume: str | None, storage: str | None, run_name: str | None):
    """``(spec, folder, pinned version or None)`` for a new run or the one to resume."""
    if resume is None:
        if spec is None:
            raise SpecError("give a batch job (YAML file, dict or BatchJobSpec) or resume=<run>")
        spec = parse_batch_spec(spec)
        folder = new_run_folder(spec.name, storage or spec.output)
        if run_name is not None:
            folder = RunFolder(f"{folder.root}/{run_name}", resumed=False)
            if folder.saved_job() is not None:  # a new run never reuses a folder
                raise SpecError(f"run {run_name!r} exists in {folder.root}; pick another name")
        return spec, folder, None
    roots = [storage or settings.storage_path()]
    saved, folder = find_run_folder(resume, roots, "batch_spec", "batch run")
    spec = parse_batch_spec(saved, source=f"run {resume}")
    return spec, folder, folder.saved_job()["model_version"]


def resolve_model(
    spec: BatchJobSpec, pinned: int | None = None, *, tracking_uri: str | None = None
) -> ModelVersion:
    """The version to score with (a resumed run keeps its pinned one), as serving resolves it:
    Approved unless the spec forces it (ApprovalError naming the fix)."""
    ref = f"{spec.model.partition(':')[0]}:{pinned}" if pinned else spec.model
    try:
        return resolve_for_deploy(ref, force=spec.force, tracking_uri=tracking_uri)
    except ApprovalError as err:
        raise ApprovalError(f"{err} (in a batch job: force: true)") from None


def _plan(folder: RunFolder, spec: BatchJobSpec, mv: ModelVersion, files) -> list[Unit]:
    """The run's saved plan (resuming; the input must not have changed), or a new one."""
    fs, run_dir = _storage.filesystem(folder.run_dir)
    if folder.resumed:
        saved = _storage.read_json(fs, f"{run_dir}/plan.json")
        if saved["input_fingerprint"] != fingerprint(files):
            raise DataError(_changed_input(folder, spec, saved, files))
        return [Unit(**u) for u in saved["units"]]
    units = plan_units(files, spec.rows_per_unit)
    plan = {
        "input_fingerprint": fingerprint(files),
        "files": [asdict(f) for f in sorted(files, key=lambda f: f.path)],
        "units": [u.to_dict() for u in units],
    }
    _storage.write_json(fs, f"{run_dir}/plan.json", plan)
    _storage.write_text(fs, f"{run_dir}/{SPEC_FILE}", yaml.safe_dump(spec.model_dump(mode="json")))
    folder.save_job({"batch_spec": spec.model_dump(mode="json"), "model_version": mv.version})
    return units


def _changed_input(folder: RunFolder, spec: BatchJobSpec, saved: dict, files) -> str:
    """Why a run cannot resume over changed input, and the command that starts a new run.

    A run's units are fixed when it is planned and each is written once; resuming only the
    unchanged files would mix two inputs in one output under one summary. So the answer is a
    new run, over the input as it is now, beside the old one.
    """
    planned = saved.get("files") or [{"path": p} for p in {u["path"] for u in saved["units"]}]
    changes = input_changes(planned, files) or ["its listing differs"]
    fs, run_dir = _storage.filesystem(folder.run_dir)
    spec_file = f"{folder.run_dir}/{SPEC_FILE}"
    if fs.get_file_info(f"{run_dir}/{SPEC_FILE}").is_file and "://" not in spec_file:
        command = f"raymaker batch --config {spec_file} --storage {folder.root}"
    else:  # planned before runs saved their spec, or on remote storage: the job's own YAML
        command = f"raymaker batch --config <the job's YAML> --storage {folder.root}"
    return (
        f"input {spec.input!r} changed since run {folder.name} planned it: "
        f"{'; '.join(changes)}. A run resumes only the input it planned; start a new run "
        f"over the input as it is now: {command}"
    )


def _score(spec: BatchJobSpec, config: ScorerConfig, pending: list[Unit], total: int, progress):
    import ray

    from ray_apps._ray_runtime import ensure_ray

    ensure_ray()
    _restart_warning.spend()  # Ray Data's actors would print it; see the module
    concurrency = spec.concurrency or default_concurrency(
        ray.cluster_resources().get("CPU", 1), len(pending)
    )
    items = [{"unit": json.dumps(u.to_dict())} for u in pending]
    with warnings.catch_warnings():
        # Ray 2.60 has no named parameter for actor restarts and warns on the remote args it
        # still honours; its default (-1) would retry forever a unit that kills every worker.
        warnings.filterwarnings("ignore", message="`ray_remote_args` is deprecated")
        ds = ray.data.from_items(items, override_num_blocks=len(items)).map_batches(
            UnitScorer,
            fn_constructor_kwargs={"config": config},
            batch_size=1,
            compute=ray.data.ActorPoolStrategy(size=concurrency),
            num_gpus=spec.num_gpus_per_actor or None,
            max_restarts=MAX_RETRIES,
            max_task_retries=MAX_RETRIES,
        )
    finished = total - len(pending)
    try:
        for row in ds.iter_rows():
            s = UnitStats.from_dict(json.loads(row["stats"]))
            finished += 1
            progress(
                f"[raymaker] unit {s.index} done ({finished}/{total}): {s.rows_in} rows in, "
                f"{s.rows_out} out, {s.rows_rejected} rejected"
            )
            if spec.strict and s.rows_rejected:
                break  # the job fails below; stop scoring the rest
    except ray.exceptions.RayError as err:  # a unit raised one of ours: say it, not Ray's wrap
        ours = raymaker_error(err)
        if ours is None:
            raise
        raise ours from None


def _check_strict(spec: BatchJobSpec, stats: list[UnitStats | None]) -> None:
    first = next((s for s in stats if s is not None and s.rows_rejected), None)
    if spec.strict and first is not None:
        rejected = sum(s.rows_rejected for s in stats if s is not None)
        raise DataError(
            f"strict batch job: {rejected} row(s) rejected so far; first: {first.first_reject}; "
            "fix the input, or set strict: false to write rejected rows to rejects/"
        )
