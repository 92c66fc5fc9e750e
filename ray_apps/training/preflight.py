"""Preflight: the checks that fail a long run minutes in, made in seconds before it starts.

``raymaker train --preflight`` (and, with ``health.preflight: auto``, every run that trains on
GPUs of a worker group) first checks, naming the worker, node and fix of whatever fails:

1. the cluster has the workers' resources at all (CPUs, GPUs, custom resources): a worker group
   asking for a GPU the cluster lacks otherwise waits forever for its placement group;
2. run storage and the tracking store are writable from here;
3. every worker starts, sees its device (``scaling.use_gpu``: a CUDA device), takes part in one
   all-reduce round trip within ``timeout_s`` (the process group a DDP/DeepSpeed/FSDP run
   needs), reads the first batch of its training shard, and writes to run storage.

The worker checks run on the same kind of Ray Train worker group as the run (a torch process
group, whatever the model), with no retries: a failure is a finding, not something to restart.
"""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from dataclasses import dataclass, field

import pandas as pd

from ray_apps.errors import TrainingError
from ray_apps.spec import TrainJobSpec

# A collective that does not complete is named within this (the bound is 30 s; a healthy
# round trip takes milliseconds, and the process group's start is not counted in it).
ALL_REDUCE_TIMEOUT_S = 20
# Once a worker's all-reduce timed out, the worker group fails on its own within seconds when
# its peer is merely stuck in Python; a frozen peer (SIGSTOP, a dead NIC) holds Ray Train's
# teardown for TORCH_PROCESS_GROUP_SHUTDOWN_TIMEOUT_S (30 s) more. The finding does not wait for
# that: after this grace it is raised, and the teardown finishes in the background.
_TEARDOWN_GRACE_S = 5.0
_POLL_S = 0.5


class PreflightError(TrainingError):
    """A preflight check failed; the message names the check, the worker/node and the fix.

    ``after_s``: for a collective that did not complete, seconds from the first worker reaching
    the all-reduce to the finding (the issue's bound: named within 30 s)."""

    exit_code = 2

    def __init__(self, message: str, after_s: float | None = None):
        super().__init__(message)
        self.after_s = after_s


@dataclass
class PreflightReport:
    workers: int
    nodes: list[str]
    devices: list[str]
    all_reduce_ms: float
    seconds: float
    checks: list[str] = field(default_factory=list)

    @property
    def line(self) -> str:
        return (
            f"[raymaker] preflight passed in {self.seconds:.1f} s: {self.workers} worker(s) on "
            f"{len(set(self.nodes))} node(s), devices {sorted(set(self.devices))}, all-reduce "
            f"round trip {self.all_reduce_ms:.1f} ms; {', '.join(self.checks)}"
        )


def needs_preflight(spec: TrainJobSpec, distributed: bool) -> bool:
    """``health.preflight``: always, never, or auto (a worker group on GPUs: the runs that
    burn the most when a node turns out broken an hour in)."""
    mode = spec.health.preflight if spec.health is not None else "auto"
    if mode == "auto":
        return distributed and spec.scaling.use_gpu
    return mode == "always"


def check_job(spec: TrainJobSpec) -> PreflightReport | str:
    """``raymaker train --preflight``: the checks for ``spec`` without training; a line
    saying why there are no workers to check when the job trains in this process."""
    from ray_apps import settings
    from ray_apps.training.job import prepare_data, tables
    from ray_apps.training.placement import choose_placement

    root = spec.storage or settings.storage_path()
    data, pre = prepare_data(spec)
    frames = tables(data, pre)
    placement = choose_placement(
        spec,
        on_cluster=bool(os.environ.get("RAY_ADDRESS")),
        train_bytes=int(frames["train"].memory_usage(deep=True).sum()),
    )
    if placement.mode == "local":
        checks = [_writable(root, "storage", "the job's storage (or RAYMAKER_STORAGE)")]
        return (
            f"[raymaker] preflight: {spec.name} trains in this process ({placement.why}): no "
            f"workers to check; {', '.join(checks)}"
        )
    return run_preflight(spec, root, frames["train"])


def run_preflight(spec: TrainJobSpec, run_root: str, train: pd.DataFrame) -> PreflightReport:
    """Every check above, in order; raises PreflightError at the first failure."""
    from ray_apps import tracking
    from ray_apps._ray_runtime import ensure_ray

    started = time.perf_counter()
    checks = [_writable(run_root, "storage", "the job's storage (or RAYMAKER_STORAGE)")]
    try:
        uri = tracking.resolve_uri(spec.tracking.uri)
    except Exception as err:  # a bad store is named the same way as the others
        raise PreflightError(f"preflight: tracking store: {err}") from None
    if "://" not in uri or uri.startswith("file:"):
        checks.append(_writable(uri.removeprefix("file://"), "tracking", "tracking.uri"))
    else:
        checks.append(f"tracking store {uri.split('://', 1)[0]} configured")
    ensure_ray()
    _has_resources(spec)
    rows = _worker_checks(spec, run_root, train)
    checks.append("first training batch read on every worker")
    return PreflightReport(
        workers=len(rows),
        nodes=[r["node"] for r in rows],
        devices=[r["device"] for r in rows],
        all_reduce_ms=max(r["all_reduce_ms"] for r in rows),
        seconds=time.perf_counter() - started,
        checks=checks,
    )


def _writable(root: str, what: str, setting: str) -> str:
    import fsspec

    probe = f"{root.rstrip('/')}/.raymaker-preflight-{uuid.uuid4().hex[:8]}"
    try:
        fs, path = fsspec.core.url_to_fs(probe)
        fs.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
        fs.pipe(path, b"ok")
        fs.rm(path)
    except Exception as err:
        raise PreflightError(
            f"preflight: {what} at {root} is not writable from this process "
            f"({type(err).__name__}: {err}); fix its permissions or point {setting} elsewhere"
        ) from None
    return f"{what} writable"


def _has_resources(spec: TrainJobSpec) -> None:
    import ray

    scaling = spec.scaling
    total = ray.cluster_resources()
    need = {"CPU": 1.0, **(scaling.resources_per_worker or {})}
    if scaling.use_gpu:
        need.setdefault("GPU", 1.0)
    workers = scaling.min_workers or scaling.num_workers
    for name, per_worker in need.items():
        have = float(total.get(name, 0.0))
        if have < per_worker * workers:
            fix = (
                "set scaling.use_gpu: false"
                if name == "GPU"
                else "change scaling.resources_per_worker"
            )
            raise PreflightError(
                f"preflight: scaling asks for {workers} worker(s) with {per_worker:g} {name} "
                f"each, and the cluster has {have:g} {name} in all; lower scaling.num_workers, "
                f"{fix} or add nodes that have it"
            )


def _worker_checks(spec: TrainJobSpec, run_root: str, train: pd.DataFrame) -> list[dict]:
    import ray
    import ray.train
    from ray.train.torch import TorchConfig, TorchTrainer

    probe_dir = f"{run_root.rstrip('/')}/.raymaker-preflight-{uuid.uuid4().hex[:8]}"
    inject = spec.failure.inject
    drill = inject is not None and inject.at_epoch == 0
    trainer = TorchTrainer(
        _check_worker,
        train_loop_config={
            "probe_dir": probe_dir,
            "use_gpu": spec.scaling.use_gpu,
            "train": ray.put(train.head(64)),  # as a run hands its tables to its workers
            "hang": {"rank": inject.rank, "delay_s": inject.delay_s} if drill else None,
        },
        torch_config=TorchConfig(timeout_s=ALL_REDUCE_TIMEOUT_S),
        scaling_config=ray.train.ScalingConfig(
            num_workers=spec.scaling.min_workers or spec.scaling.num_workers,
            use_gpu=spec.scaling.use_gpu,
            resources_per_worker=spec.scaling.resources_per_worker,
        ),
        run_config=ray.train.RunConfig(
            name=f"preflight-{uuid.uuid4().hex[:8]}",
            storage_path=run_root,
            failure_config=ray.train.FailureConfig(max_failures=0),
            logging_config=ray.train.LoggingConfig(log_level="WARNING"),
        ),
    )
    world = spec.scaling.min_workers or spec.scaling.num_workers
    outcome: dict = {}

    def fit() -> None:  # in a thread: a stuck collective is named without waiting for teardown
        try:
            trainer.fit()
            outcome["rows"] = _rows(probe_dir)  # each worker's row, where it proved storage
        except BaseException as err:  # noqa: BLE001 (handed to the caller below)
            outcome["error"] = err
            outcome["markers"] = _markers(probe_dir)
        finally:
            _remove(probe_dir)
            _remove(f"{run_root.rstrip('/')}/{trainer.run_config.name}")

    thread = threading.Thread(target=fit, name="raymaker-preflight", daemon=True)
    thread.start()
    while thread.is_alive():
        thread.join(_POLL_S)
        markers = _markers(probe_dir) if thread.is_alive() else {}
        if any(m["kind"] == "timeout" for m in markers.values()):
            thread.join(_TEARDOWN_GRACE_S)
            if thread.is_alive():
                raise _stuck_collective(markers, world)
    error = outcome.get("error")
    if error is None:
        return outcome["rows"]
    if not isinstance(error, ray.train.TrainingFailedError):
        raise error
    markers = outcome.get("markers") or {}
    if any(m["kind"] == "timeout" for m in markers.values()):
        raise _stuck_collective(markers, world) from None
    raise PreflightError(_finding(error)) from None


def _rows(probe_dir: str) -> list[dict]:
    """Each worker's passed checks (``rank<r>.json``)."""
    import fsspec

    fs, root = fsspec.core.url_to_fs(probe_dir)
    return sorted(
        (
            json.loads(fs.cat(p))
            for p in fs.ls(root, detail=False)
            if p.rsplit("/", 1)[-1].startswith("rank")
        ),
        key=lambda r: r["rank"],
    )


def _markers(probe_dir: str) -> dict[int, dict]:
    """rank → where the worker is in the all-reduce: ``arrived`` at it, or its ``timeout``
    (a worker that timed out replaces its arrival). Empty while none wrote one."""
    import fsspec

    fs, root = fsspec.core.url_to_fs(probe_dir)
    try:
        names = fs.ls(root, detail=False)
    except FileNotFoundError:
        return {}
    found: dict[int, dict] = {}
    for path in sorted(names):  # "arrived-…" sorts before "timeout-…"
        kind = path.rsplit("/", 1)[-1].split("-", 1)[0]
        if kind in ("arrived", "timeout"):
            try:
                with_kind = {**json.loads(fs.cat(path)), "kind": kind}
            except FileNotFoundError:  # removed by the run's end meanwhile
                continue
            if kind == "timeout" or with_kind["rank"] not in found:
                found[with_kind["rank"]] = with_kind
    return found


def _stuck_collective(markers: dict[int, dict], world: int) -> PreflightError:
    """Name the workers a timed-out all-reduce waited for: those that reached it and never
    answered, and those that never reached it."""
    waited = [m for m in markers.values() if m["kind"] == "timeout"]
    silent = [m for m in markers.values() if m["kind"] == "arrived"]
    absent = [r for r in range(world) if r not in markers]
    culprits = [f"rank {m['rank']} on node {m['node']} (pid {m['pid']})" for m in silent]
    culprits += [f"rank {r} (never reached it)" for r in absent]
    waiting = ", ".join(f"rank {m['rank']} on node {m['node']}" for m in waited)
    first = min(m["arrived_at"] for m in markers.values())
    return PreflightError(
        f"preflight: all-reduce did not complete within {ALL_REDUCE_TIMEOUT_S} s: "
        f"{', '.join(culprits) or 'no worker'} did not answer ({waiting} timed out waiting); "
        f"check that worker's node and process (stuck, frozen or unreachable) and "
        f"{_FIXES['all-reduce']}",
        after_s=round(time.time() - first, 1),
    )


def _check_worker(config: dict) -> None:
    """One worker's checks; a failure raises with ``PREFLIGHT <check> …`` (see ``_finding``)."""
    import ray
    import ray.train
    import torch
    import torch.distributed as dist

    ctx = ray.train.get_context()
    rank, world = ctx.get_world_rank(), ctx.get_world_size()
    node = ray.util.get_node_ip_address()
    where = f"rank {rank} on node {node}"
    device = ray.train.torch.get_device()
    if config["use_gpu"] and device.type != "cuda":
        raise RuntimeError(f"PREFLIGHT device {where}: no CUDA device visible to the worker")
    # Where each worker is, so that a collective that never completes names who it waited for.
    marker = {"rank": rank, "node": node, "pid": os.getpid(), "arrived_at": time.time()}
    try:
        _write(config["probe_dir"], f"arrived-{rank}.json", marker)
    except Exception as err:
        raise RuntimeError(f"PREFLIGHT storage {where}: {type(err).__name__}: {err}") from None
    hang = config.get("hang")
    if hang and hang["rank"] == rank:  # failure.inject at_epoch 0: preflight's drill
        print(f"[raymaker] injecting a 'hang' fault on rank {rank} in preflight", flush=True)
        time.sleep(hang["delay_s"])
    try:
        t0 = time.perf_counter()
        value = torch.ones(1, device=device)
        dist.all_reduce(value)
        took_ms = (time.perf_counter() - t0) * 1e3
    except Exception as err:
        _write(config["probe_dir"], f"timeout-{rank}.json", {**marker, "error": str(err)[:300]})
        raise RuntimeError(f"PREFLIGHT all-reduce {where}: {type(err).__name__}: {err}") from None
    if int(value.item()) != world:
        raise RuntimeError(f"PREFLIGHT all-reduce {where}: summed {value.item()} of {world}")
    try:
        from ray_apps.training.session import rank_rows

        rank_rows(ray.get(config["train"]), rank, world).head(1)  # an empty share is fine
    except Exception as err:
        raise RuntimeError(f"PREFLIGHT dataset {where}: {type(err).__name__}: {err}") from None
    row = {"rank": rank, "node": node, "device": str(device), "all_reduce_ms": took_ms}
    try:
        _write(config["probe_dir"], f"rank{rank}.json", row)
    except Exception as err:
        raise RuntimeError(f"PREFLIGHT storage {where}: {type(err).__name__}: {err}") from None


def _write(probe_dir: str, name: str, row: dict) -> None:
    import fsspec

    fs, path = fsspec.core.url_to_fs(f"{probe_dir}/{name}")
    fs.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
    fs.pipe(path, json.dumps(row).encode())


_FIXES = {
    "device": "check the node's driver and CUDA_VISIBLE_DEVICES, or set scaling.use_gpu: false",
    "all-reduce": "check that the nodes reach each other on all ports (firewall, NCCL/Gloo "
    "interface: NCCL_SOCKET_IFNAME / GLOO_SOCKET_IFNAME)",
    "dataset": "check the dataset's source is readable from every node",
    "storage": "use shared storage every node can write (an s3:// URI or a shared mount)",
}


def _finding(err: Exception) -> str:
    text = str(err)
    for check, fix in _FIXES.items():
        marker = f"PREFLIGHT {check} "
        if marker in text:
            detail = text.split(marker, 1)[1].splitlines()[0]
            return f"preflight: {check} failed on {detail}; {fix}"
    first = next((line for line in text.splitlines() if line.strip()), text)
    return f"preflight: the worker group did not start: {first}"


def _remove(path: str) -> None:
    import fsspec

    fs, root = fsspec.core.url_to_fs(path)
    if fs.exists(root):
        fs.rm(root, recursive=True)
