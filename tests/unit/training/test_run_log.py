"""The run log is read by the driver while rank 0 writes it: a reader never sees half a record."""

from __future__ import annotations

import threading

from ray_apps.training.run_log import RunLog

# Big enough that json writes it in many chunks: a reader racing the writer would catch a
# half-written file on nearly every round if writes were not atomic.
_WIDE = {f"metric_{i}": float(i) for i in range(5_000)}


def test_history_keeps_the_last_values_of_an_epoch_run_again(tmp_path):
    log = RunLog(str(tmp_path / "run"))
    log.epoch_done(1, {"loss": 0.9})
    log.epoch_done(2, {"loss": 0.8})
    log.epoch_done(2, {"loss": 0.7})  # epoch 2 again after a restart
    assert [(r["epoch"], r["loss"]) for r in log.history()] == [(1, 0.9), (2, 0.7)]


def test_a_reader_polling_while_rank_0_writes_never_reads_half_a_record(tmp_path):
    run_dir = str(tmp_path / "run")
    writer, reader = RunLog(run_dir), RunLog(run_dir)
    done = threading.Event()

    def write() -> None:
        try:
            for epoch in range(1, 31):
                writer.epoch_done(epoch, _WIDE)
                writer.checkpoint_saved(epoch, f"checkpoint_{epoch:06d}")
        finally:
            done.set()

    thread = threading.Thread(target=write)
    thread.start()
    reads = 0
    while not done.is_set():
        rows = reader.history()  # raised JSONDecodeError on a half-written file
        assert all(len(row) == len(_WIDE) + 1 for row in rows)
        last = reader.last_checkpoint()
        assert last is None or last["name"] == f"checkpoint_{last['epoch']:06d}"
        reads += 1
    thread.join()
    assert reads > 5, "the reader never overlapped the writer: the test proved nothing"
    assert [row["epoch"] for row in reader.history()] == list(range(1, 31))
    # Nothing but the records is left beside them.
    names = sorted(p.name for p in (tmp_path / "run" / "raymaker" / "epochs").iterdir())
    assert len(names) == 30 and not [n for n in names if n.startswith(".")]
