"""The PyTorch training loop that every Ray Train worker runs, under any training strategy.

Each worker takes its Ray Data shard once into memory (tabular shards are small), shuffles it
per epoch with a seeded generator, and trains through the job's strategy engine (DDP, DeepSpeed
ZeRO, FSDP: ``ray_apps.learners.strategies``); validation loss is averaged over all workers
with an all-reduce. Every ``checkpoint_every`` epochs and at the end, each rank writes its part
of a checkpoint (sharded strategies: every rank) and rank 0 adds the whole model in fp32 with
the epoch; a restarted worker group resumes from the newest one at the following epoch.

With a ``health:`` section it also samples the signals the health rules read (gradient norm,
update/weight ratio, non-finite values: ``_torch_signals``; GPU utilisation on CUDA devices:
``_gpu_signals``) and stops after an epoch whose
report says a rule stopped the run.

Once per start it counts the parameter, gradient and optimizer bytes each rank holds (right
after a backward pass) and reports them, with peak memory, as ``rank<r>_*`` metrics.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch import nn

from ray_apps.learners._gpu_signals import GpuUtilization
from ray_apps.learners._torch_signals import GradientProbe
from ray_apps.learners.strategies import get_strategy
from ray_apps.learners.strategies._memory import live_storages, model_state_bytes, peak_memory
from ray_apps.learners.torch_learner import build_module, read_state, write_state
from ray_apps.training.loop_config import LoopConfig
from ray_apps.training.session import RayTrainSession, Session

MEMORY_KEYS = (
    "param_bytes",
    "grad_bytes",
    "optimizer_bytes",
    "model_state_bytes",
    "peak_rss_bytes",
    "peak_cuda_bytes",
)
PROBE_ROWS = 16  # validation rows whose engine outputs a checkpoint keeps (artifact self-check)


def _tensors(frame, n_features: int, classification: bool):
    x = torch.from_numpy(frame.iloc[:, :n_features].to_numpy(dtype=np.float32))
    y = frame["__y"].to_numpy()
    return x, torch.from_numpy(y.astype(np.int64 if classification else np.float32))


def _all_reduce_sum(values: list[float], device: torch.device) -> list[float]:
    # On the training device: NCCL reduces CUDA tensors only (a CPU tensor fails there).
    t = torch.tensor(values, dtype=torch.float64, device=device)
    if dist.is_available() and dist.is_initialized():
        dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return t.tolist()


def _per_rank(
    memory: dict[str, float], times: list[float], device: torch.device, world_size: int
) -> tuple[dict, list[list[float]]]:
    """Every rank's memory figures, as ``rank<r>_<key>``, and every rank's ``times`` (one
    all-gather for both: every rank gets every rank's figures)."""
    values = [memory.get(k, 0.0) for k in MEMORY_KEYS] + times
    mine = torch.tensor(values, dtype=torch.float64)
    rows = [mine.to(device)]
    if dist.is_available() and dist.is_initialized():
        rows = [torch.zeros_like(rows[0]) for _ in range(world_size)]
        dist.all_gather(rows, mine.to(device))
    out, per_rank_times = {}, []
    for rank, row in enumerate(rows):
        values = row.tolist()
        for key, value in zip(MEMORY_KEYS, values, strict=False):
            if key != "peak_cuda_bytes" or device.type == "cuda":
                out[f"rank{rank}_{key}"] = value
        per_rank_times.append(values[len(MEMORY_KEYS) :])
    return out, per_rank_times


def _state_writer(engine, rank: int, metrics: dict, probe: dict):
    def save(folder: str) -> bool:
        full = engine.full_state_dict()  # collective: every rank takes part
        engine.save(Path(folder), rank)
        if rank == 0:
            write_state(folder, full, metrics, probe)
        return rank == 0 or engine.sharded  # whether this rank wrote files to upload

    return save


def train_loop(config: LoopConfig, session: Session | None = None) -> dict[str, Any]:
    t_start = time.perf_counter()
    session = session or RayTrainSession(config)
    own, hp = config.learner, config.learner.hyperparameters
    classification = config.task == "classification"
    torch.manual_seed(config.seed)

    device = session.device()
    x_train, y_train = (
        t.to(device) for t in _tensors(session.frame("train"), own.n_features, classification)
    )
    x_valid, y_valid = (
        t.to(device) for t in _tensors(session.frame("valid"), own.n_features, classification)
    )
    before_model = live_storages()
    model = build_module(own.class_path, own.n_features, own.n_outputs, own.model_params)
    engine = get_strategy(own.strategy.kind).engine(model, own.strategy, hp, session)
    start_epoch, last_metrics = 1, None
    checkpoint = session.restore()
    if checkpoint:
        with checkpoint.as_directory() as d:
            state = read_state(d)
            engine.load(Path(d))
        start_epoch = state["epoch"] + 1
        last_metrics = state.get("metrics")
        del state
    loss_fn: nn.Module = nn.CrossEntropyLoss() if classification else nn.MSELoss()
    if session.started(start_epoch):
        return {"rank": session.rank, "start_epoch": start_epoch}  # stopped by a health rule
    if session.rank == 0 and device.type == "cuda":
        name = torch.cuda.get_device_name(device)
        print(
            f"[raymaker] training on {device} ({name}), {session.world_size} worker(s)", flush=True
        )

    batch_size, epochs = hp.batch_size * session.batch_factor, config.epochs
    batches, acc = -(-len(x_train) // batch_size), engine.accumulation
    # Health signals only when the job has health rules: without, the loop is as it was.
    signals, gpu = None, GpuUtilization(device)
    if config.health is not None:
        signals = GradientProbe(
            engine.module,
            config.health.every_steps,
            max(batches // acc, 1),
            global_norm=engine.global_grad_norm,
            world_size=session.world_size,
        )
    # Counted on the second optimizer step's last micro-batch: Adam makes its state lazily.
    measure_at, steps, memory = 2 * engine.accumulation - 1, 0, {}
    first_step_s = None  # time to this attempt's first optimizer step
    for epoch in range(start_epoch, epochs + 1):
        session.begin_epoch(epoch)
        t0 = time.perf_counter()
        engine.module.train()
        gen = torch.Generator().manual_seed(config.seed * 100_003 + epoch)
        order = torch.randperm(len(x_train), generator=gen).to(device)
        total, seen = 0.0, 0
        # A rank's own time: its forward passes and optimizer steps, not backward, where DDP's
        # gradient all-reduce makes every rank wait for the slowest (the straggler rule reads it).
        own_time = 0.0
        delay = config.inject.step_delay(epoch, session.rank) if config.inject else 0.0
        if signals is not None:
            signals.begin_epoch()
            gpu.begin_epoch()
        for b in range(batches):
            t_own = time.perf_counter()
            if delay:
                time.sleep(delay)  # the `slow` drill: this rank straggles
            idx = order[b * batch_size : (b + 1) * batch_size]
            out = engine.module(x_train[idx])
            loss = loss_fn(out, y_train[idx] if classification else y_train[idx].unsqueeze(1))
            own_time += time.perf_counter() - t_own
            engine.backward(loss)
            sampled = signals is not None and (b + 1) % acc == 0 and signals.due(b // acc)
            if sampled:
                signals.after_backward()
            if steps == measure_at:
                memory = model_state_bytes(engine, before_model)
            t_own = time.perf_counter()
            engine.step()
            own_time += time.perf_counter() - t_own
            if sampled:
                signals.after_step()
                gpu.sample()
            if first_step_s is None:
                first_step_s = time.perf_counter() - t_start
            steps += 1
            value = float(loss.detach())
            if signals is not None:
                signals.loss(value)
            total += value * len(idx)
            seen += len(idx)
        train_time = time.perf_counter() - t0

        engine.module.eval()
        with torch.no_grad():
            out = engine.module(x_valid)
            vloss = loss_fn(out, y_valid if classification else y_valid.unsqueeze(1))
            correct = float((out.argmax(1) == y_valid).sum()) if classification else 0.0
        probe = {"x": x_valid[:PROBE_ROWS].cpu(), "out": out[:PROBE_ROWS].float().cpu()}
        health_sums = [*signals.sums(), *gpu.sums()] if signals is not None else []
        tl, ts, vl, vc, vn, *health_reduced = _all_reduce_sum(
            [total, seen, float(vloss) * len(y_valid), correct, len(y_valid), *health_sums],
            device,
        )
        # Times of every rank (with the memory figures' all-gather): the epoch takes as long as
        # the slowest rank, and every rank reports the same numbers (the health rules see them).
        per_rank, times = _per_rank(
            {**memory, **peak_memory(device)},
            [train_time, first_step_s or 0.0, own_time],
            device,
            session.world_size,
        )
        epoch_time = max(t[0] for t in times)
        metrics = {
            "epoch": epoch,
            "train_loss": tl / max(ts, 1),
            "val_loss": vl / max(vn, 1),
            "epoch_time_s": epoch_time,
            "rows_per_s": ts / max(epoch_time, 1e-9),
            "step_time_s": epoch_time / max(batches, 1),
        }
        if classification:
            metrics["val_accuracy"] = vc / max(vn, 1)
        if signals is not None:
            probed, gpu_reduced = health_reduced[: -gpu.SUMS], health_reduced[-gpu.SUMS :]
            metrics.update(signals.signals(probed, session.world_size, engine.sharded))
            metrics.update(GpuUtilization.signals(gpu_reduced))
            if epoch == start_epoch:
                metrics["time_to_first_step_s"] = max(t[1] for t in times)
            if session.world_size > 1:  # the straggler rule compares them
                for rank, (_, _, rank_own) in enumerate(times):
                    metrics[f"rank{rank}_step_time_s"] = rank_own / max(batches, 1)
        metrics.update(per_rank)

        save = epoch % config.checkpoint_every == 0 or epoch == epochs
        writer = _state_writer(engine, session.rank, metrics, probe) if save else None
        if session.report(metrics, epoch, writer):
            break  # a health rule stopped the run (every rank gets the same answer)
    if start_epoch > epochs and last_metrics:
        # Restored from the final checkpoint (the job stopped right after it): report the
        # final result again, so the caller sees the finished epoch and not an older one.
        session.report(last_metrics, epochs, None)
    session.ended()
    return {"rank": session.rank, "start_epoch": start_epoch}
