"""Ray's worker output as the driver prints it: noise dropped, ours unprefixed, no colours."""

import time

import pytest

pytestmark = pytest.mark.integration


def test_worker_lines_are_filtered_unprefixed_and_uncoloured(ray_session, capsys):
    import ray

    @ray.remote
    def chatty() -> None:
        print("Execution plan of Dataset x_0: InputDataBuffer[Input] -> OutputSplitter", flush=True)
        print("[raymaker] epoch 1/1 from a worker", flush=True)
        print("a user's own line, kept", flush=True)

    ray.get(chatty.remote())
    seen, deadline = "", time.monotonic() + 30
    while "a user's own line, kept" not in seen and time.monotonic() < deadline:
        time.sleep(0.1)  # the driver prints worker lines from its log-monitor thread
        seen += capsys.readouterr().out
    assert "a user's own line, kept" in seen
    assert "\n[raymaker] epoch 1/1 from a worker" in "\n" + seen  # no "(chatty pid=…)" prefix
    assert "Execution plan of Dataset" not in seen
    assert "\x1b[" not in seen  # stdout is not a terminal here: no colour codes


def test_lines_ray_deduplicates_come_out_uncoloured_and_without_advice(ray_session, capsys):
    """Ray writes its "[repeated Nx across cluster]" suffix in colour after our filter ran: the
    batches it prints then, and those it flushes at disconnect, are cleaned too (a CI run
    showed a green suffix and Ray's advice on a piped console)."""
    import sys

    from ray._private import worker as ray_worker
    from ray._private.ray_logging import stdout_deduplicator

    line = "the same warning from every worker, 7 of them"
    for pid in (910001, 910002, 910003):  # one line from three processes: Ray aggregates it
        batch = {"ip": "127.0.0.1", "localhost": "127.0.0.1", "pid": pid, "is_err": False}
        ray_worker.print_to_stdstream({**batch, "lines": [line]}, ignore_prefix=False)
    for leftover in stdout_deduplicator.flush():  # what Ray does at disconnect
        ray_worker.print_worker_logs(leftover, sys.stdout)
    seen = capsys.readouterr().out
    assert f"{line} [repeated 2x across cluster]" in seen
    assert "\x1b[" not in seen
    assert "Ray deduplicates logs by default" not in seen
