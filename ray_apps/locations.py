"""Whether a run may write where it is about to: never into a submitted job's throwaway folder.

Seen: ``ray job submit --working-dir . -- python -m ray_apps.train --config …`` against a local
token-auth head succeeded and wrote the model artifact and the MLflow database into Ray's
``runtime_resources/working_dir_files/_ray_pkg_…/raymaker_data/``: the job's working directory,
which Ray deletes with the session. The user's model and runs were lost, and nothing warned.
On a cluster of several machines a local path is worse still: each node writes its own.

So a submitted job uses a stable location configured for the cluster (``RAYMAKER_STORAGE``,
``MLFLOW_TRACKING_URI``, …) and is refused, naming the setting to fix, when it would write
into its working directory, fall back to the embedded default, or write node-local paths on
a multi-node cluster. Outside a submitted job, on one node, nothing changes: the embedded
default stays ``./raymaker_data``.

``refusal`` is the decision, a pure function of a ``Location`` and a ``JobContext``;
``job_context`` reads the context from the process (environment, working directory, Ray).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from enum import Enum
from pathlib import PurePosixPath

# Ray's job supervisor hands each job driver its job config (metadata, runtime env) here.
_JOB_CONFIG_ENV = "RAY_JOB_CONFIG_JSON_ENV_VAR"
# Where Ray unpacks a runtime_env working_dir on a node (Ray's layout since 1.x): the job
# driver's cwd, and the cwd of the job's tasks and actors.
_WORKING_DIR_MARK = "/runtime_resources/working_dir_files/"


class Source(Enum):
    """Where a location came from; decides how much raymaker may second-guess it."""

    EXPLICIT = "explicit"  # RAYMAKER_STORAGE, MLFLOW_TRACKING_URI, a spec field, a CLI option
    HOME = "home"  # derived from RAYMAKER_HOME: a local folder by definition
    DEFAULT = "default"  # nothing set: the embedded ./raymaker_data


@dataclass(frozen=True)
class Location:
    """One place a run writes: what it is for, the path or URI, its source, the fix."""

    what: str  # "run storage", "MLflow tracking", "monitor reports", …
    value: str  # path or URI as resolved ("sqlite:///…" for a SQLite store)
    source: Source
    setting: str  # what to set instead, e.g. "RAYMAKER_STORAGE (or the job's storage:)"


@dataclass(frozen=True)
class JobContext:
    """What this process knows about where it runs."""

    submission_id: str | None = None  # set when this process is a ``ray job submit`` driver
    working_dir: str | None = None  # the job's unpacked working directory, if it has one
    nodes: int = 1  # alive nodes in the cluster; 1 when not known

    @property
    def in_job(self) -> bool:
        return self.submission_id is not None


def local_path(value: str) -> str | None:
    """The filesystem path behind ``value``; None for a remote URI (s3://, postgresql://, …)."""
    if value.startswith("sqlite:///"):
        return value.removeprefix("sqlite:///").split("?", 1)[0] or None
    if value.startswith("file://"):
        return value.removeprefix("file://")
    if "://" in value or value.startswith("sqlite:"):
        return None
    return value


def _inside(path: str, folder: str) -> bool:
    p, f = PurePosixPath(path), PurePosixPath(folder)
    return p == f or f in p.parents


def refusal(loc: Location, ctx: JobContext) -> str | None:
    """Why ``loc`` must not be written in ``ctx`` (one line naming the fix), or None if fine.

    A remote URI is always fine. A local path is refused when it lies inside the job's
    working directory (whoever chose it), when a submitted job would use the embedded default,
    and when a path that was not explicitly chosen is node-local on a multi-node cluster. A
    local path set explicitly is trusted on many nodes: it may be a shared mount.
    """
    path = local_path(loc.value)
    if path is None:
        return None
    fix = f"set {loc.setting} to a location that outlives the job"
    if ctx.working_dir and _inside(path, ctx.working_dir):
        return (
            f"{loc.what} {loc.value} is inside this job's Ray working directory "
            f"{ctx.working_dir}, which Ray deletes with the session; {fix}"
        )
    if loc.source is Source.DEFAULT and ctx.in_job:
        return (
            f"{loc.what} has no stable default in a submitted Ray job (it would be "
            f"{loc.value}, on whichever node runs the driver); {fix}"
        )
    if loc.source is not Source.EXPLICIT and ctx.nodes > 1:
        return (
            f"{loc.what} {loc.value} is a folder on one node of a {ctx.nodes}-node cluster, "
            f"which the other nodes cannot reach; {fix} (shared storage such as s3://…)"
        )
    return None


def job_context(
    environ: dict[str, str] | None = None, cwd: str | None = None, *, join: bool = False
) -> JobContext:
    """Read the context of this process: the Ray job it drives, its working dir, node count.

    ``join``: a job driver that has not joined its cluster yet joins it to count the nodes
    (it is about to anyway); otherwise only a Ray already joined is asked.
    """
    env = os.environ if environ is None else environ
    cwd = os.getcwd() if cwd is None else cwd
    submission_id, has_working_dir = _job_config(env.get(_JOB_CONFIG_ENV))
    working_dir = cwd if has_working_dir or _WORKING_DIR_MARK in f"{cwd}/" else None
    if join and submission_id and env.get("RAY_ADDRESS"):
        from ray_apps._ray_runtime import ensure_ray

        ensure_ray()
    return JobContext(submission_id, working_dir, _alive_nodes())


def _job_config(raw: str | None) -> tuple[str | None, bool]:
    """(submission id, whether the runtime env has a working_dir) from Ray's job config."""
    if not raw:
        return None, False
    try:
        config = json.loads(raw)
    except ValueError:
        return None, False
    submission_id = (config.get("metadata") or {}).get("job_submission_id")
    return submission_id, bool((config.get("runtime_env") or {}).get("working_dir"))


def _alive_nodes() -> int:
    """Alive nodes of the Ray this process joined; 1 when it has joined none yet.

    Only asks a Ray that is already up: a registry listing or a config check must not start
    or join a cluster just to answer this.
    """
    import sys

    ray = sys.modules.get("ray")
    if ray is None or not ray.is_initialized():
        return 1
    return sum(1 for node in ray.nodes() if node.get("Alive"))
