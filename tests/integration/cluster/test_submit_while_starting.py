"""``raymaker submit`` while the head is still starting is accepted once it is up.

Seen: ``raymaker submit`` right after ``ray start --head`` returned failed at once with Ray's
``500 No available agent to submit job`` (the head's job agent comes up seconds after the
head); earlier still, the dashboard refuses connections. Here the submission starts as soon as
``ray start`` is launched, so it meets the head in every phase of its start: the moment
``ray start`` returns included, and refused connections for certain (the agent's 500 depends
on timing; the unit tests hold Ray's text for it). The job goes with ``--no-wait``: acceptance
is what is tested, not the job. Run under the shared lock.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from _ray_head import start_head

REPO = Path(__file__).resolve().parents[3]


def test_submit_while_the_head_starts_waits_for_it_and_is_accepted():
    base = {k: v for k, v in os.environ.items() if not k.startswith(("RAYMAKER_", "MLFLOW_"))}
    head = start_head(base, num_cpus=2, jobs_api=False)
    try:
        started = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-m", "ray_apps.cli", "submit", "train"]
            + ["--config", "tests/integration/cluster/jobs/train_tiny_xgb.yaml"]
            + ["--address", head.dashboard, "--no-wait", "--retry-for", "120"],
            env={**base, **head.client_env(), "PYTHONPATH": str(REPO)},
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=180,
        )
        print(f"accepted {time.monotonic() - started:.1f} s after ray start was launched")
        start_log = (head.temp_dir / "ray-start.log").read_text(errors="replace")
    finally:
        head.stop(timeout_s=5)  # a throwaway head: what ignores SIGTERM (30 s seen) is killed
    assert not head.processes(), "the test cluster left processes behind"
    shutil.rmtree(head.temp_dir, ignore_errors=True)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-3000:] + start_log[-2000:]
    assert f"the cluster at {head.dashboard} is still starting" in output
    assert "[raymaker] submitted train as raysubmit_" in output
    assert "Traceback" not in output
