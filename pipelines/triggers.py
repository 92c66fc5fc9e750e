"""Triggers: start a pipeline on a schedule or on a monitor's alert, at most one run per key.

    from pipelines import TriggerSpec, start_once
    spec = TriggerSpec(pipeline="examples/pipeline_retrain.yaml", key="cancer",
                       parameters={"min_auc": 0.95}, schedule="0 3 * * 1-5")
    start_once(spec, storage="runs", reason="alert drift on cancer").message

``start_once`` starts ``raymaker pipeline run`` as a detached process unless the last run it
started for the same key is still going: a drift alert that fires every minute, or a schedule
that comes round while last night's retrain still trains, starts nothing twice. Its state is
``<storage>/pipelines/_triggers/<key>.json`` (driver PID, host, run id, last scheduled fire)
and the driver's output goes to ``<key>.log`` beside it. The check and the start happen under
an exclusive lock file, so two callers at once start one run.

Schedules are 5-field cron strings read in UTC (``cron_matches``, ``next_fire``, ``due``: pure
functions of the expression and the clock). ``raymaker pipeline schedule TRIGGERS.yaml`` calls
``schedule_pass`` every 30 s; fires missed while it was down are coalesced into one.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator

from pipelines.cron import cron_matches, next_fire, parse_cron, utc_minute
from pipelines.graph import validate
from pipelines.record import RunStore
from pipelines.spec import PipelineSpec, bind_parameters, load_pipeline
from ray_apps.errors import RaymakerError, SpecError
from ray_apps.spec import _Strict, load_yaml, parse_spec

FOLDER = "_triggers"
WAIT_FOR_RUN_S = 30.0  # how long start_once looks for the new run's record
LOCK_WAIT_S = 10.0  # the lock is held for a check and a fork: well under a second
LOCK_STALE_S = 120.0  # a lock this old was left by a killed caller
HOST = socket.gethostname()
SCHEDULE_EVERY_S = 30.0  # twice a minute: no cron minute is missed
KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")

# -- the spec --------------------------------------------------------------------------------


class TriggerSpec(_Strict):
    """A pipeline to start, with what, exclusive on what, and (optionally) when."""

    pipeline: str = Field(description="path to the pipeline YAML")
    parameters: dict[str, Any] = Field(default_factory=dict, description="as --param NAME=VALUE")
    key: str | None = Field(None, description="one run at a time per key; default: pipeline name")
    schedule: str | None = Field(None, description="cron, 5 fields, UTC: '0 3 * * 1-5'")

    @field_validator("key")
    @classmethod
    def _a_file_name(cls, value: str | None) -> str | None:
        if value is not None and not KEY.fullmatch(value):
            raise ValueError(
                f"{value!r} names the trigger's state file: start with a letter or digit and "
                "use only letters, digits, _ . - (at most 64), e.g. the endpoint's name"
            )
        return value

    @field_validator("schedule")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                parse_cron(value)
            except SpecError as err:
                raise ValueError(str(err)) from None
        return value


class TriggersFile(_Strict):
    triggers: list[TriggerSpec]


def load_triggers(path: str | Path) -> list[TriggerSpec]:
    """The triggers of a ``triggers: [...]`` YAML file, each pipeline checked before any runs."""
    specs = parse_spec(TriggersFile, load_yaml(path), source=str(path)).triggers
    for i, spec in enumerate(specs):
        try:
            _bound(spec)
        except RaymakerError as err:
            raise SpecError(f"{path}: triggers[{i}]: {err}") from None
    return specs


def _bound(spec: TriggerSpec) -> tuple[PipelineSpec, dict[str, str], dict[str, Any]]:
    """The pipeline, its --param texts and their bound values; errors name file and field."""
    pipeline = load_pipeline(spec.pipeline)
    texts = {k: _text(v) for k, v in spec.parameters.items()}
    bound = bind_parameters(pipeline, texts)
    validate(pipeline)
    return pipeline, texts, bound


def _text(value: Any) -> str:
    """A parameter as ``--param`` writes it (YAML's true is Python's True)."""
    return str(value).lower() if isinstance(value, bool) else str(value)


def due(spec: TriggerSpec, last_fired: datetime | None, now: datetime) -> bool:
    """Whether a scheduled minute lies in (last_fired, now]; never fired: whether now is one."""
    if spec.schedule is None:
        return False
    if last_fired is None:
        return cron_matches(spec.schedule, now)
    return next_fire(spec.schedule, last_fired) <= utc_minute(now)


# -- the state of a key, and the decision ----------------------------------------------------


@dataclass
class TriggerRecord:
    """``_triggers/<key>.json``: the driver last started for the key, and the last fire."""

    key: str
    pid: int | None = None
    host: str | None = None
    pid_start: str | None = None  # the process's start time: a reused PID is not our driver
    started_at: float | None = None
    reason: str | None = None
    pipeline: str | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
    run_id: str | None = None
    last_fired: str | None = None  # ISO 8601, UTC; written by the scheduler only


@dataclass
class TriggerOutcome:
    status: Literal["started", "already_running"]
    key: str
    run_id: str | None
    pid: int | None
    message: str


def holds(record: TriggerRecord, run_state: str | None, alive: bool | None, now: float) -> bool:
    """Whether the recorded driver still holds its key: a finished run or a dead driver frees
    it. ``alive`` None: its host is another machine; there a recorded ``running`` (or a start
    too recent to have its record yet) is trusted, since two runs are worse than a late one."""
    if record.pid is None or run_state not in (None, "running"):
        return False
    if alive is None:
        young = record.started_at is not None and now - record.started_at < 2 * WAIT_FOR_RUN_S
        return run_state == "running" or young
    return alive


def _proc_start(pid: int) -> str | None:
    """Field 22 of /proc/<pid>/stat (start time since boot); None when no live process."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text.rsplit(")", 1)[1].split()  # the command name may hold spaces and ")"
    return None if fields[0] in ("Z", "X") else fields[19]  # a zombie has exited


def _alive(record: TriggerRecord) -> bool | None:
    if record.host != HOST or record.pid is None:
        return None
    if Path("/proc/self/stat").exists():
        started = _proc_start(record.pid)
        return started is not None and record.pid_start in (None, started)
    try:
        os.kill(record.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class _Keys:
    """The trigger files of one local storage: state, log and lock per key."""

    def __init__(self, storage: str | None):
        self.store = RunStore(storage)
        if self.store.local_root is None:
            raise SpecError(
                f"storage {self.store.root!r}: triggers start a local process and lock a local "
                "file, so they need a local or mounted storage path for now; pass --storage /path"
            )
        self.storage = str(Path(self.store.local_root).parent)
        self.folder = Path(self.store.local_root) / FOLDER

    def load(self, key: str) -> TriggerRecord | None:
        data = self.store.read_json(f"{FOLDER}/{key}.json")
        return None if data is None else TriggerRecord(**data)

    def save(self, record: TriggerRecord) -> None:
        self.store.write_json(f"{FOLDER}/{record.key}.json", asdict(record))

    def run_state(self, run_id: str | None) -> str | None:
        head = self.store.read_json(f"{run_id}/run.json") if run_id else None
        return None if head is None else head["state"]

    def find_run(self, name: str, bound: Mapping[str, Any], since: float) -> str | None:
        """The newest run of ``name`` with these parameters created at or after ``since``."""
        ids = [r for r in self.store.list_runs() if r.startswith(f"{name}-")]
        for run_id in reversed(ids[-10:]):
            head = self.store.read_json(f"{run_id}/run.json") or {}
            ours = head.get("pipeline") == name and head.get("parameters") == dict(bound)
            if ours and head.get("created_at", 0) >= since:
                return run_id
        return None

    @contextlib.contextmanager
    def locked(self, key: str) -> Iterator[None]:
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{key}.lock"
        deadline = time.monotonic() + LOCK_WAIT_S
        while True:
            try:
                fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
                break
            except FileExistsError:
                if _stale_lock(path):
                    with contextlib.suppress(FileNotFoundError):
                        path.unlink()
                    continue
            if time.monotonic() > deadline:
                raise RaymakerError(
                    f"trigger {key}: {path} has been held for {LOCK_WAIT_S:g} s by another "
                    "caller; retry, or remove the file if no raymaker trigger is running"
                )
            time.sleep(0.05)
        try:
            os.write(fd, f"{os.getpid()} {HOST}\n".encode())
            os.close(fd)
            yield
        finally:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()


def _stale_lock(path: Path) -> bool:
    """Left by a caller that was killed: its process is gone, or it is far too old."""
    try:
        pid, host = path.read_text().split()
        age = time.time() - path.stat().st_mtime
    except (OSError, ValueError):
        return False  # being written or just removed: look again
    return age > LOCK_STALE_S or (host == HOST and _proc_start(int(pid)) is None)


# -- starting --------------------------------------------------------------------------------

# The drivers this process started. The scheduler runs for days: polling its children reaps
# those that ended, which would otherwise stay zombies (and look alive) until it exits.
_started: dict[int, subprocess.Popen] = {}


def start_once(
    spec: TriggerSpec,
    *,
    storage: str | None,
    reason: str,
    now: datetime | None = None,
    wait_s: float = WAIT_FOR_RUN_S,
) -> TriggerOutcome:
    """Start the pipeline in the background unless the key's last run is still going."""
    for pid, proc in list(_started.items()):
        if proc.poll() is not None:
            del _started[pid]
    pipeline, texts, bound = _bound(spec)
    key = spec.key or pipeline.name
    keys = _Keys(storage)
    log = keys.folder / f"{key}.log"
    clock = (now or datetime.now(UTC)).timestamp()
    with keys.locked(key):
        record = keys.load(key) or TriggerRecord(key=key)
        if record.pid is not None and record.run_id is None and record.host == HOST:
            record.run_id = keys.find_run(pipeline.name, bound, record.started_at or 0.0)
        if holds(record, keys.run_state(record.run_id), _alive(record), clock):
            return TriggerOutcome("already_running", key, record.run_id, record.pid, _busy(record))
        record = TriggerRecord(
            key=key,
            host=HOST,
            started_at=time.time(),  # the child's clock: its run's created_at comes after
            reason=reason,
            pipeline=str(Path(spec.pipeline).resolve()),
            parameters=dict(spec.parameters),
            last_fired=record.last_fired,
        )
        proc = _launch(record, texts, keys.storage, log)
        record.pid, record.pid_start = proc.pid, _proc_start(proc.pid)
        keys.save(record)
    run_id = _await_run(keys, proc, pipeline.name, bound, record.started_at, wait_s)
    if run_id is not None:
        with keys.locked(key):
            current = keys.load(key)
            if current is not None and current.pid == record.pid:
                current.run_id = run_id
                keys.save(current)
    head = f"{key}: started pipeline {pipeline.name} (pid {proc.pid}"
    if run_id is None:
        message = (
            f"{head}) but its run did not appear under {keys.store.root} within {wait_s:g} s; "
            f"see {log}"
        )
    else:
        message = f"{head}, run {run_id}); log {log}"
    return TriggerOutcome("started", key, run_id, proc.pid, message)


def _launch(
    record: TriggerRecord, texts: Mapping[str, str], storage: str, log: Path
) -> subprocess.Popen:
    command = [sys.executable, "-m", "ray_apps.cli", "pipeline", "run", record.pipeline]
    command += ["--storage", storage, "--trigger", f"{record.key}: {record.reason}"]
    for name, value in texts.items():
        command += ["--param", f"{name}={value}"]
    stamp = datetime.fromtimestamp(record.started_at, UTC).isoformat(timespec="seconds")
    with open(log, "a") as out:
        out.write(f"=== {stamp} trigger {record.key}: {record.reason}\n")
        out.flush()
        # Its own session: a Ctrl-C or a closed terminal of the caller does not stop the run.
        proc = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},  # the log follows the run
        )
    _started[proc.pid] = proc
    return proc


def _await_run(
    keys: _Keys,
    proc: subprocess.Popen,
    name: str,
    bound: Mapping[str, Any],
    since: float,
    wait_s: float,
) -> str | None:
    deadline = time.monotonic() + wait_s
    while True:
        exited = proc.poll() is not None  # read before looking: its record is written by then
        run_id = keys.find_run(name, bound, since)
        if run_id is not None or exited or time.monotonic() > deadline:
            return run_id
        time.sleep(0.2)


def _busy(record: TriggerRecord) -> str:
    since = datetime.fromtimestamp(record.started_at or 0, UTC).isoformat(timespec="seconds")
    run = f"run {record.run_id}" if record.run_id else "its run (not recorded yet)"
    return (
        f"{record.key}: {run} is still running (pid {record.pid} on {record.host}, started "
        f"{since} for {record.reason!r}); nothing started"
    )


# -- the scheduler ---------------------------------------------------------------------------


@dataclass
class Fire:
    """One scheduled start: what ``start_once`` answered, or why it could not."""

    key: str
    schedule: str
    outcome: TriggerOutcome | None = None
    error: str | None = None

    @property
    def line(self) -> str:
        said = self.outcome.message if self.outcome else f"error: {self.error}"
        return f"schedule {self.schedule!r}: {said}"


def schedule_pass(
    triggers: list[TriggerSpec], *, storage: str | None, now: datetime | None = None
) -> list[Fire]:
    """Fire each scheduled trigger that is ``due`` since its last fire, and record the fire
    (also when its run was still going: that fire is spent, not retried every pass)."""
    now = now or datetime.now(UTC)
    keys = _Keys(storage)
    fires = []
    for spec in triggers:
        if spec.schedule is None:
            continue
        key = spec.key or load_pipeline(spec.pipeline).name
        record = keys.load(key)
        last = record.last_fired if record else None
        if not due(spec, None if last is None else datetime.fromisoformat(last), now):
            continue
        fire = Fire(key, spec.schedule)
        try:
            fire.outcome = start_once(
                spec, storage=storage, reason=f"schedule {spec.schedule}", now=now
            )
        except RaymakerError as err:
            fire.error = str(err)
        with keys.locked(key):
            record = keys.load(key) or TriggerRecord(key=key)
            record.last_fired = utc_minute(now).isoformat()
            keys.save(record)
        fires.append(fire)
    return fires
