"""Start a named pipeline over HTTP, for admins: the closed loop ("retrain this endpoint's
model"), idempotent per key.

POST /admin/pipelines/{name}:run   {"parameters": {"min_auc": 0.95, …},   all optional:
                                    "key": "…", "reason": "…"}            an empty body is {}
     → 202 {"status": "started|already_running", "key": "…", "run_id": "…" or null,
            "pid": …, "message": "…", "status_hint": "raymaker pipeline status <run_id>"}

``{name}`` must be one the endpoint's spec lists (``pipelines: {retrain: pipeline.yaml}``): an
allow-list, HTTP starts nothing else (404 naming the ones there are). ``key`` (default: the
endpoint's name, so one loop per endpoint) holds one run at a time: while the run last started
for it still runs, nothing starts and the answer says ``already_running``. ``parameters`` are
the pipeline's, as ``--param NAME=VALUE`` (a value that is not a string goes as JSON: 0.95,
true). A body that is not an object, an unknown field or a bad value is a 400 naming it.

``serve`` never imports ``pipelines`` (import-linter): the route runs the CLI, ``python -m
ray_apps.cli pipeline trigger FILE --json …``, as a subprocess (never blocking the replica's
event loop), with ``RAY_ADDRESS`` set to this replica's cluster so the pipeline's driver joins
it, and the endpoint's home, registry and run storage. Its exit 2 (bad input) is a 400 with its
message, another failure a 500, no answer within ``TIMEOUT_S`` a 504. No key or secret is ever
on its command line. Only admin credentials reach this route (``serve.routes.ROLES``).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ray_apps.errors import NotFoundError, RaymakerError, SpecError
from serve.protocol_v1 import load_json

logger = logging.getLogger("raymaker.serve")
TIMEOUT_S = 60.0  # the CLI waits up to ~15 s for the run's record to appear
_FIELDS = ("parameters", "key", "reason")
_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")  # the trigger's state file name
_MAX_REASON = 500
_STATUSES = ("started", "already_running")
_BOX = "│╭╮╰╯─┃━ \t"  # what a usage error's frame draws around its message


class PipelineTimeoutError(RaymakerError):
    """The pipeline trigger gave no answer in time (the pipeline may still have started)."""

    http_status = 504


@dataclass(frozen=True)
class RunRequest:
    """The body of ``POST /admin/pipelines/{name}:run``, validated."""

    parameters: dict[str, Any] = field(default_factory=dict)
    key: str | None = None
    reason: str | None = None


def parse_body(body: bytes) -> RunRequest:
    """The body as a ``RunRequest``; SpecError (400) naming the field that is wrong."""
    if not body.strip():
        return RunRequest()
    data = load_json(body)
    if not isinstance(data, dict):
        raise SpecError(
            f"the body must be a JSON object {{parameters, key, reason}} (all optional), got "
            f"{type(data).__name__}"
        )
    unknown = sorted(set(data) - set(_FIELDS))
    if unknown:
        raise SpecError(
            f"{unknown[0]}: unknown field; the body takes {', '.join(_FIELDS)} (all optional)"
        )
    parameters = data.get("parameters") or {}
    if not isinstance(parameters, dict):
        raise SpecError(
            f"parameters must be an object {{name: value}}, got {type(parameters).__name__}"
        )
    for name, value in parameters.items():
        if not name or "=" in name:
            raise SpecError(f"parameters: {name!r} is not a parameter name (no '=', not empty)")
        if value is None or isinstance(value, (dict, list)):
            raise SpecError(
                f"parameters.{name} is {json.dumps(value)}; a pipeline parameter is a string, "
                "a number or true/false"
            )
    key = data.get("key")
    if key is not None and not (isinstance(key, str) and _KEY.fullmatch(key)):
        raise SpecError(
            f"key {key!r} names the trigger's state file: a string starting with a letter or "
            "digit, only letters, digits, _ . - (at most 64), e.g. the endpoint's name"
        )
    reason = data.get("reason")
    if reason is not None and not (isinstance(reason, str) and len(reason) <= _MAX_REASON):
        raise SpecError(f"reason must be a string of at most {_MAX_REASON} characters")
    return RunRequest(dict(parameters), key, reason)


def pipeline_file(name: str, pipelines: Mapping[str, str]) -> str:
    """The YAML ``name`` stands for on this endpoint; NotFoundError (404) naming the others."""
    if name in pipelines:
        return pipelines[name]
    if not pipelines:
        raise NotFoundError(
            f"no pipeline {name!r}: this endpoint has no pipelines; name them in its spec, "
            f"e.g. pipelines: {{{name}: pipeline.yaml}}, and deploy it again"
        )
    raise NotFoundError(
        f"no pipeline {name!r} on this endpoint; it has {sorted(pipelines)} (its spec's "
        "pipelines: add one there and deploy again)"
    )


def param_value(value: Any) -> str:
    """A parameter as ``--param`` takes it (the CLI keeps the text; the pipeline parses it to
    the declared type): a string as it is, anything else as JSON (0.95, 3, true)."""
    return value if isinstance(value, str) else json.dumps(value)


def trigger_command(
    file: str,
    key: str,
    parameters: Mapping[str, Any],
    reason: str,
    storage: str | None,
    python: str,
) -> list[str]:
    """The command line of ``raymaker pipeline trigger``. Every value is joined to its option
    (``--key=…``), so none that starts with ``-`` is read as an option."""
    command = [python, "-m", "ray_apps.cli", "pipeline", "trigger", file, f"--key={key}"]
    command += [f"--param={name}={param_value(v)}" for name, v in parameters.items()]
    command += [f"--reason={reason}", "--json"]
    if storage is not None:
        command.append(f"--storage={storage}")
    return command


def reply_from(returncode: int, stdout: str, stderr: str) -> dict[str, Any]:
    """The route's answer from the CLI's exit: its JSON line and a hint, or the error."""
    if returncode == 2:
        raise SpecError(_message(stderr) or "raymaker pipeline trigger refused the request")
    if returncode != 0:
        said = _message(stderr)
        raise RaymakerError(
            f"raymaker pipeline trigger failed (exit {returncode})"
            + (f": {said}" if said else "; see the replica log")
        )
    outcome = _json_line(stdout)
    if outcome is None or outcome.get("status") not in _STATUSES:
        raise RaymakerError(
            "raymaker pipeline trigger exited 0 without its JSON answer (status started or "
            "already_running); see the replica log"
        )
    run_id = outcome.get("run_id")
    hint = f"raymaker pipeline status {run_id}" if run_id else "raymaker pipeline list"
    return {**outcome, "status_hint": hint}


def trigger_env(
    home: str | None, tracking_uri: str | None, environ: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The subprocess's environment: this process's, with the endpoint's home and registry,
    and inside Ray ``RAY_ADDRESS`` set to this cluster (two local Rays may share a host)."""
    env = dict(os.environ if environ is None else environ)
    if home is not None:
        env["RAYMAKER_HOME"] = home
    if tracking_uri is not None:
        env["MLFLOW_TRACKING_URI"] = tracking_uri
    gcs = _gcs_address()
    if gcs is not None:
        from ray_apps._ray_runtime import address_in_worker

        address_in_worker(env, gcs)
    return env


async def run(
    name: str,
    body: bytes,
    *,
    pipelines: Mapping[str, str],
    endpoint: str,
    storage: str | None,
    home: str | None,
    tracking_uri: str | None,
    timeout_s: float = TIMEOUT_S,
) -> dict[str, Any]:
    """Start (or find running) the endpoint's pipeline ``name`` as the body asks."""
    file = pipeline_file(name, pipelines)
    request = parse_body(body)
    key = request.key or endpoint
    reason = request.reason or f"POST /admin/pipelines/{name}:run"
    command = trigger_command(file, key, request.parameters, reason, storage, sys.executable)
    logger.info("pipeline %s (key %s): starting %s", name, key, file)
    proc = await asyncio.create_subprocess_exec(
        *command,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=trigger_env(home, tracking_uri),
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout_s)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise PipelineTimeoutError(
            f"raymaker pipeline trigger gave no answer in {timeout_s:g} s; the pipeline may "
            f"have started: see 'raymaker pipeline list', then POST again (key {key!r} starts "
            "nothing while its run still runs)"
        ) from None
    finally:
        if proc.returncode is None:  # the request was cancelled: leave no CLI behind
            proc.kill()
    stdout, stderr = out.decode(errors="replace"), err.decode(errors="replace")
    if proc.returncode != 0:
        logger.warning(
            "pipeline %s (key %s): trigger exited %s: %s",
            name,
            key,
            proc.returncode,
            stderr.strip()[-2000:],
        )
    return reply_from(proc.returncode, stdout, stderr)


def _json_line(stdout: str) -> dict[str, Any] | None:
    """The last line of ``stdout`` that is a JSON object (anything before it is noise)."""
    for line in reversed(stdout.strip().splitlines()):
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict):
            return value
    return None


def _message(stderr: str) -> str:
    """The CLI's one-line error: its ``error: …`` line (the last), else the last line with
    words (a usage error's frame stripped), at most 500 characters."""
    lines = [line.strip(_BOX) for line in stderr.strip().splitlines()]
    lines = [line for line in lines if any(c.isalnum() for c in line)]
    errors = [line for line in lines if line.lower().startswith("error:")]
    line = (errors or lines or [""])[-1]
    if line.lower().startswith("error:"):
        line = line[len("error:") :].strip()
    return line[:500]


def _gcs_address() -> str | None:
    """This cluster's GCS address when this process is in Ray; None outside it."""
    ray = sys.modules.get("ray")
    if ray is None or not ray.is_initialized():
        return None
    return ray.get_runtime_context().gcs_address
