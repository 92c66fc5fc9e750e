"""The PyTorch DDP training loop that every Ray Train worker runs.

Each worker takes its Ray Data shard once into memory (tabular shards are small), shuffles it
per epoch with a seeded generator, trains under DistributedDataParallel, and averages
validation loss over all workers with an all-reduce. Rank 0 writes a checkpoint (model,
optimizer and epoch) every ``checkpoint_every`` epochs and at the end; a restarted worker
group resumes from the newest one at the following epoch.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch import nn

from ray_apps.learners.torch_learner import build_module, read_state, write_state
from ray_apps.training.loop_config import LoopConfig
from ray_apps.training.session import RayTrainSession, Session


def _tensors(frame, n_features: int, classification: bool):
    x = torch.from_numpy(frame.iloc[:, :n_features].to_numpy(dtype=np.float32))
    y = frame["__y"].to_numpy()
    return x, torch.from_numpy(y.astype(np.int64 if classification else np.float32))


def _optimizer(name: str, params, lr: float, weight_decay: float) -> torch.optim.Optimizer:
    cls = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW, "sgd": torch.optim.SGD}[name]
    return cls(params, lr=lr, weight_decay=weight_decay)


def _all_reduce_sum(values: list[float], device: torch.device) -> list[float]:
    # On the training device: NCCL reduces CUDA tensors only (a CPU tensor fails there).
    t = torch.tensor(values, dtype=torch.float64, device=device)
    if dist.is_available() and dist.is_initialized():
        dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return t.tolist()


def _state_writer(model: nn.Module, optimizer: torch.optim.Optimizer, metrics: dict):
    return lambda folder: write_state(folder, model, optimizer, metrics)


def train_loop(config: LoopConfig, session: Session | None = None) -> dict[str, Any]:
    session = session or RayTrainSession(config)
    own, hp = config.learner, config.learner.hyperparameters
    classification = config.task == "classification"
    torch.manual_seed(config.seed)

    model = build_module(own.class_path, own.n_features, own.n_outputs, own.model_params)
    start_epoch, last_metrics, state = 1, None, None
    checkpoint = session.restore()
    if checkpoint:
        with checkpoint.as_directory() as d:
            state = read_state(d)
        model.load_state_dict(state["model"])
        start_epoch = state["epoch"] + 1
        last_metrics = state.get("metrics")
    model = session.prepare_model(model)
    # The optimizer is made (and its state loaded) after the model moved to its device, so
    # Adam's moments follow it there: loading them first left them on the CPU (seen on a GPU).
    optimizer = _optimizer(hp.optimizer, model.parameters(), hp.lr, hp.weight_decay)
    if state:
        optimizer.load_state_dict(state["optimizer"])
    loss_fn: nn.Module = nn.CrossEntropyLoss() if classification else nn.MSELoss()

    device = session.device()
    x_train, y_train = (
        t.to(device) for t in _tensors(session.frame("train"), own.n_features, classification)
    )
    x_valid, y_valid = (
        t.to(device) for t in _tensors(session.frame("valid"), own.n_features, classification)
    )
    session.started(start_epoch)
    if session.rank == 0 and device.type == "cuda":
        name = torch.cuda.get_device_name(device)
        print(
            f"[raymaker] training on {device} ({name}), {session.world_size} worker(s)", flush=True
        )

    batch_size, epochs = hp.batch_size, config.epochs
    for epoch in range(start_epoch, epochs + 1):
        session.begin_epoch(epoch)
        t0 = time.perf_counter()
        model.train()
        gen = torch.Generator().manual_seed(config.seed * 100_003 + epoch)
        order = torch.randperm(len(x_train), generator=gen).to(device)
        total, seen = 0.0, 0
        for i in range(0, len(order), batch_size):
            idx = order[i : i + batch_size]
            optimizer.zero_grad()
            out = model(x_train[idx])
            loss = loss_fn(out, y_train[idx] if classification else y_train[idx].unsqueeze(1))
            loss.backward()
            optimizer.step()
            total += float(loss.detach()) * len(idx)
            seen += len(idx)
        train_time = time.perf_counter() - t0

        model.eval()
        with torch.no_grad():
            out = model(x_valid)
            vloss = loss_fn(out, y_valid if classification else y_valid.unsqueeze(1))
            correct = float((out.argmax(1) == y_valid).sum()) if classification else 0.0
        tl, ts, vl, vc, vn = _all_reduce_sum(
            [total, seen, float(vloss) * len(y_valid), correct, len(y_valid)], device
        )
        metrics = {
            "epoch": epoch,
            "train_loss": tl / max(ts, 1),
            "val_loss": vl / max(vn, 1),
            "epoch_time_s": train_time,
            "rows_per_s": ts / max(train_time, 1e-9),
        }
        if classification:
            metrics["val_accuracy"] = vc / max(vn, 1)

        save = epoch % config.checkpoint_every == 0 or epoch == epochs
        session.report(metrics, epoch, _state_writer(model, optimizer, metrics) if save else None)
    if start_epoch > epochs and last_metrics:
        # Restored from the final checkpoint (the job stopped right after it): report the
        # final result again, so the caller sees the finished epoch and not an older one.
        session.report(last_metrics, epochs, None)
    return {"rank": session.rank, "start_epoch": start_epoch}
