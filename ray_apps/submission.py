"""Submit a raymaker job to a Ray cluster: a thin layer over Ray's JobSubmissionClient.

    from ray_apps.submission import submit
    code = submit("train", "examples/train_mlp.yaml", "http://head:8265")   # 0 | 1 | 2 | …

does what ``ray job submit --working-dir . -- python -m ray_apps.train --config …`` does, with
what is easy to forget added: the working directory goes up without ``.venv``, ``raymaker_data``,
``mlruns`` and ``.git``; the config must lie inside it (a path that exists only on the
submitter's machine cannot work on the cluster); the Ray token is sent as Ray itself finds it
(``RAY_AUTH_TOKEN``, then the file at ``RAY_AUTH_TOKEN_PATH``, then ``~/.ray/auth_token``); and
where results go (``RAYMAKER_STORAGE``, ``MLFLOW_TRACKING_URI``, the S3 endpoint) is forwarded
in the job's runtime env. Secrets are not forwarded: runtime envs are job metadata, shown by
the dashboard; the cluster holds its own credentials.

A head that is still starting is waited for: right after ``ray start --head`` returns, the
dashboard may refuse connections and then answers a submission with ``500 No available agent
to submit job`` until the head's job agent is up, a few seconds later. ``submit`` retries both
for ``retry_s`` (60 s by default), saying so once, then names the address and the fix.
"""

from __future__ import annotations

import asyncio
import os
import shlex
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from ray_apps.errors import SpecError

T = TypeVar("T")

# job → the module ``python -m`` runs on the cluster
JOBS = {
    "train": "ray_apps.train",
    "tune": "ray_apps.tune",
    "batch": "ray_apps.batch",
    "monitor": "ray_apps.monitor",
    "explain": "ray_apps.explain",
    "evaluate": "ray_apps.evaluate",
    "deploy": "ray_apps.deploy",
}
EXCLUDES = [".venv", "raymaker_data", "mlruns", ".git", "__pycache__", "*.pyc"]
# Where results go, and how to reach it; never credentials.
FORWARDED_ENV = (
    "RAYMAKER_STORAGE",
    "MLFLOW_TRACKING_URI",
    "RAYMAKER_MLFLOW_ARTIFACTS",
    "AWS_ENDPOINT_URL",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "MLFLOW_S3_ENDPOINT_URL",
)
# Ray Train's controller collects reports at this interval; its 2 s default made short epochs
# wait on it (ray_apps/_ray_runtime.py sets the same for local Ray).
JOB_ENV = {"RAY_TRAIN_HEALTH_CHECK_INTERVAL_S": "0.2"}
# How long a submission waits for a head that is still starting.
RETRY_S = 60.0


@dataclass(frozen=True)
class Submission:
    """What goes to Ray: the command the job runs and its runtime env."""

    entrypoint: str
    runtime_env: dict[str, Any] = field(default_factory=dict)


def plan(
    job: str,
    config: str | Path,
    working_dir: str | Path,
    environ: Mapping[str, str],
    extra_args: list[str] | None = None,
) -> Submission:
    """The submission for ``job`` with ``config``; SpecError names any bad input and its fix."""
    if job not in JOBS:
        raise SpecError(f"unknown job {job!r}; choose one of {', '.join(JOBS)}")
    root = Path(working_dir).resolve()
    if not root.is_dir():
        raise SpecError(f"--working-dir {working_dir} is not a folder")
    path = Path(config).resolve()
    if not path.is_file():
        raise SpecError(f"--config {config}: no such file")
    if root not in path.parents:
        raise SpecError(
            f"--config {config} lies outside the working directory {root} that is uploaded, so "
            "the cluster cannot read it; move it under that folder or pass --working-dir"
        )
    args = ["--config", path.relative_to(root).as_posix(), *(extra_args or [])]
    env = dict(JOB_ENV)
    for name in FORWARDED_ENV:
        if environ.get(name):
            env[name] = _without_secret(name, environ[name])
    return Submission(
        f"python -m {JOBS[job]} {shlex.join(args)}",
        {"working_dir": str(root), "excludes": list(EXCLUDES), "env_vars": env},
    )


def _without_secret(name: str, value: str) -> str:
    """``value`` unless it embeds a password, which would show in the job's metadata."""
    if "://" in value and urlsplit(value).password:
        raise SpecError(
            f"{name} embeds a password, which would be visible in the job's metadata on the "
            "dashboard; give the cluster its credentials (e.g. PGPASSWORD or ~/.pgpass on the "
            f"nodes) and set {name} without it"
        )
    return value


def auth_headers(environ: Mapping[str, str], home: Path) -> dict[str, str]:
    """The Ray token as an HTTP header, found where Ray looks (Ray's token-auth docs):
    ``RAY_AUTH_TOKEN``, the file at ``RAY_AUTH_TOKEN_PATH``, ``~/.ray/auth_token``; none: {}."""
    token = environ.get("RAY_AUTH_TOKEN", "").strip()
    if not token and environ.get("RAY_AUTH_TOKEN_PATH"):
        path = Path(environ["RAY_AUTH_TOKEN_PATH"]).expanduser()
        try:
            token = path.read_text().strip()
        except OSError as err:
            raise SpecError(f"RAY_AUTH_TOKEN_PATH {path} cannot be read ({err.strerror})") from None
        if not token:
            raise SpecError(f"RAY_AUTH_TOKEN_PATH {path} is empty; put the cluster's token in it")
    if not token:
        default = home / ".ray" / "auth_token"
        token = default.read_text().strip() if default.is_file() else ""
    return {"Authorization": f"Bearer {token}"} if token else {}


def exit_status(status: str, driver_exit_code: int | None) -> int:
    """The exit code ``raymaker submit`` returns for a finished job: the driver's own when Ray
    knows it (so a job's bad input stays 2), else 0 for SUCCEEDED and 1 otherwise."""
    if driver_exit_code is not None:
        return driver_exit_code
    return 0 if status == "SUCCEEDED" else 1


def submit(
    job: str,
    config: str | Path,
    address: str,
    *,
    working_dir: str | Path = ".",
    wait: bool = True,
    extra_args: list[str] | None = None,
    retry_s: float = RETRY_S,
    out: Callable[[str], None] = print,
) -> int:
    """Submit ``job`` to the cluster at ``address`` (its dashboard URL); with ``wait``, stream
    its logs and return its exit status, else return 0 once it is accepted. A head still
    starting is retried for up to ``retry_s`` seconds."""
    sub = plan(job, config, working_dir, os.environ, extra_args)
    retry = StartupRetry(address, retry_s, out)
    client = _client(address, retry)
    try:
        job_id = retry(
            lambda: client.submit_job(entrypoint=sub.entrypoint, runtime_env=sub.runtime_env)
        )
    except SpecError:
        raise
    except (RuntimeError, ValueError, OSError) as err:  # the request or upload refused
        raise SpecError(f"the cluster at {address} did not accept the job: {err}") from None
    out(f"[raymaker] submitted {job} as {job_id} to {address}")
    if not wait:
        out(f"[raymaker] follow it with: ray job logs -f {job_id} --address {address}")
        return 0

    async def stream() -> None:
        async for lines in client.tail_job_logs(job_id):
            out(lines.rstrip("\n"))

    asyncio.run(stream())
    info = client.get_job_info(job_id)
    status = str(getattr(info.status, "value", info.status))
    code = exit_status(status, getattr(info, "driver_exit_code", None))
    out(f"[raymaker] job {job_id} {status} (exit {code})")
    return code


def starting_reason(error_text: str) -> str | None:
    """Why a failed Jobs API call looks like a head still starting, or None when it does not
    (then retrying cannot help). ``error_text``: the error and the errors it was raised from."""
    if "No available agent to submit job" in error_text:
        return "its job agent is not up yet"
    if "Connection refused" in error_text:
        return "its dashboard refuses connections"
    return None


def _error_text(err: BaseException | None) -> str:
    """``err`` and its causes as one text: Ray's "Failed to connect to Ray at address" hides
    the "Connection refused" of the requests error it was raised from."""
    texts, seen = [], set()
    while err is not None and id(err) not in seen:
        seen.add(id(err))
        texts.append(str(err))
        err = err.__cause__ or err.__context__
    return "\n".join(texts)


@dataclass
class StartupRetry:
    """Calls a Jobs API request again while the head at ``address`` is still starting, for
    ``retry_s`` seconds in all (one budget for every call it wraps); says so once, on the
    first retry; other errors pass through. ``clock`` and ``sleep`` are for tests."""

    address: str
    retry_s: float = RETRY_S
    out: Callable[[str], None] = print
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    interval_s: float = 1.0
    _deadline: float | None = None
    _told: bool = False

    def __call__(self, request: Callable[[], T]) -> T:
        if self._deadline is None:
            self._deadline = self.clock() + self.retry_s
        while True:
            try:
                return request()
            except (RuntimeError, OSError) as err:  # ConnectionError is an OSError
                reason = starting_reason(_error_text(err))
                left = self._deadline - self.clock()
                if reason is None:
                    raise
                if left <= 0:
                    raise SpecError(
                        f"the cluster at {self.address} is not taking jobs after "
                        f"{self.retry_s:g} s: {reason}; wait until its head is up (`ray status` "
                        "on the head), check that --address is its dashboard "
                        "(http://<head>:8265), or give it longer with --retry-for"
                    ) from None
                if not self._told:
                    self.out(
                        f"[raymaker] the cluster at {self.address} is still starting ({reason}); "
                        f"retrying for up to {self.retry_s:g} s"
                    )
                    self._told = True
                self.sleep(min(self.interval_s, left))


def _client(address: str, retry: StartupRetry):
    """Ray's JobSubmissionClient with the token, the head waited for while it starts;
    unreachable or refused → SpecError."""
    from ray.exceptions import AuthenticationError
    from ray.job_submission import JobSubmissionClient

    headers = auth_headers(os.environ, Path.home())
    try:
        return retry(lambda: JobSubmissionClient(address, headers=headers))
    except SpecError:
        raise
    except (AuthenticationError, ConnectionError, RuntimeError, ValueError) as err:
        text = str(err)
        refused = isinstance(err, AuthenticationError) or " 401" in text or " 403" in text
        if refused and not headers:
            raise SpecError(
                f"the cluster at {address} requires its Ray token; set RAY_AUTH_TOKEN (or "
                "RAY_AUTH_TOKEN_PATH, or ~/.ray/auth_token) to it"
            ) from None
        if refused:
            raise SpecError(
                f"the cluster at {address} refused the Ray token; set RAY_AUTH_TOKEN to its "
                "current token (`ray get-auth-token` on the head)"
            ) from None
        raise SpecError(
            f"cannot reach the Ray Jobs API at --address {address}: {text.splitlines()[0]}"
        ) from None
