"""Both worker loops, run in-process against an in-memory Session (no Ray)."""

import pytest
from _memory_session import MemorySession

METRIC = {"torch_job": "val_loss", "xgboost_job": "valid_logloss"}


@pytest.mark.parametrize("job_name", ["torch_job", "xgboost_job"])
def test_loop_learns_and_checkpoints_when_due(job_name, request, tmp_path):
    job = request.getfixturevalue(job_name)
    session = MemorySession(job.frames, tmp_path)
    job.spec.model.learner.loop_function()(job.config, session)

    assert session.start_epoch == 1
    assert [epoch for epoch, _ in session.reports] == [1, 2, 3, 4, 5, 6]
    losses = [m[METRIC[job_name]] for _, m in session.reports]
    assert losses[-1] < losses[0]
    # checkpoint.every 2 of 6: after 2, 4 and 6 (the last one always)
    assert [p.name for p in session.checkpoints] == [
        "checkpoint_000002",
        "checkpoint_000004",
        "checkpoint_000006",
    ]


@pytest.mark.parametrize("job_name", ["torch_job", "xgboost_job"])
def test_restore_continues_at_the_next_epoch(job_name, request, tmp_path):
    job = request.getfixturevalue(job_name)
    loop = job.spec.model.learner.loop_function()
    first = MemorySession(job.frames, tmp_path)
    loop(job.config, first)
    for late in first.checkpoints[1:]:  # as if the run died after epoch / round 2
        for f in late.iterdir():
            f.unlink()
        late.rmdir()

    again = MemorySession(job.frames, tmp_path, resume=True)
    loop(job.config, again)
    assert again.start_epoch == 3
    assert [epoch for epoch, _ in again.reports] == [3, 4, 5, 6]
    assert again.reports[-1][1]["epoch"] == 6


@pytest.mark.parametrize("job_name", ["torch_job", "xgboost_job"])
def test_restore_from_the_final_checkpoint_reports_the_final_result(job_name, request, tmp_path):
    job = request.getfixturevalue(job_name)
    loop = job.spec.model.learner.loop_function()
    first = MemorySession(job.frames, tmp_path)
    loop(job.config, first)
    again = MemorySession(job.frames, tmp_path, resume=True)
    loop(job.config, again)
    assert again.start_epoch == 7
    assert [epoch for epoch, _ in again.reports] == [6]
