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
