"""The durable queue on each store it is documented for: a real SQLite file (the embedded
default) and a real PostgreSQL server (a cluster's ``store_url``, from the ``pgserver`` wheel).
Two store objects stand for two processes."""

import multiprocessing
import os
import shutil
import tempfile
import uuid
import warnings

import pytest

from ray_apps.errors import QueueFullError
from serve.async_inference import AsyncStore, NewRequest
from serve.config import AsyncInferenceSpec

T0 = 1_700_000_000.0


@pytest.fixture(scope="module")
def postgres():
    """One PostgreSQL for the module, on a unix socket in a short folder (no TCP port)."""
    root = tempfile.mkdtemp(prefix="rm-pg-")  # TMPDIR: short, for the socket path
    with warnings.catch_warnings():  # platformdirs, when XDG_RUNTIME_DIR is unset
        warnings.simplefilter("ignore")
        import pgserver

        server = pgserver.get_server(root, cleanup_mode="delete")
    yield server, root
    server.cleanup()
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(params=["sqlite", "postgres"])
def db(request, tmp_path) -> str:
    """A fresh, empty store URL of each kind."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'q.db'}"
    server, root = request.getfixturevalue("postgres")
    name = f"q_{uuid.uuid4().hex[:12]}"
    server.psql(f"CREATE DATABASE {name};")
    return f"postgresql+psycopg://postgres:@/{name}?host={root}"


def settings(db, tmp_path, **kw) -> AsyncInferenceSpec:
    return AsyncInferenceSpec(store_url=db, storage_path=str(tmp_path / "files"), **kw)


def new(i: int, **kw) -> NewRequest:
    return NewRequest(
        id=f"{i:032x}", model="iris", version="1", route="v1_predict",
        path="/v1/models/iris:predict", **kw,
    )  # fmt: skip


@pytest.fixture()
def two(db, tmp_path):
    s = settings(db, tmp_path, max_queued=3, max_attempts=2, ttl_s=60, lease_s=10)
    return AsyncStore(s, "ep"), AsyncStore(s, "ep")


def test_submit_keeps_the_payload_and_a_queued_row(two):
    a, b = two
    job = a.submit(new(1), b'{"instances": [[1, 2, 3, 4]]}', T0)
    assert job.status == "queued" and job.attempts == 0
    seen = b.get(job.id)
    assert seen == job and b.payload(seen) == b'{"instances": [[1, 2, 3, 4]]}'
    assert b.get("f" * 32) is None


def test_queue_full_counts_queued_and_running_and_keeps_no_file(two, tmp_path):
    a, b = two
    for i in range(3):
        a.submit(new(i), b"x", T0)
    b.claim("w", 10, T0)  # running still counts
    with pytest.raises(QueueFullError, match="max_queued 3") as err:
        b.submit(new(9), b"x", T0)
    assert err.value.http_status == 429 and err.value.retry_after_s == 5
    assert not (tmp_path / "files" / new(9).id).exists()
    job = a.claim("w", 10, T0)
    assert a.complete(job, a.files.write_result(job.id, 1, b"{}"), 200, "1", T0)
    b.submit(new(9), b"x", T0)  # a finished request frees its place


def test_claim_takes_the_oldest_once_and_bumps_attempts(two):
    a, b = two
    a.submit(new(1), b"x", T0)
    a.submit(new(2), b"x", T0 + 1)
    first, second = a.claim("A", 10, T0 + 2), b.claim("B", 10, T0 + 2)
    assert (first.id, first.owner, first.attempts) == (new(1).id, "A", 1)
    assert (second.id, second.owner) == (new(2).id, "B")
    assert a.claim("A", 10, T0 + 3) is None and b.claim("B", 10, T0 + 3) is None
    assert first.status == "running" and first.lease_until == T0 + 12


def test_claims_from_several_processes_are_exclusive(db, tmp_path):
    s = settings(db, tmp_path, max_queued=1000)
    store = AsyncStore(s, "ep")
    for i in range(60):
        store.submit(new(i), b"x", T0)
    ctx = multiprocessing.get_context("fork")  # the parent holds no connection yet in use
    store.engine.dispose()
    outs = [tmp_path / f"p{n}.txt" for n in range(3)]
    procs = [ctx.Process(target=_claim_all, args=(s, out.stem, out)) for out in outs]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0, 0, 0]
    ids = [i for out in outs for i in out.read_text().split()]
    assert sorted(ids) == sorted(new(i).id for i in range(60))  # each once, none lost


def _claim_all(s, owner, out):
    code = 1
    try:
        store = AsyncStore(s, "ep")  # its own engine and connections, in its own process
        got = []
        while (job := store.claim(owner, 60, T0)) is not None:
            got.append(job.id)
        out.write_text(" ".join(got))
        code = 0
    finally:
        os._exit(code)


def test_an_expired_lease_is_redelivered_and_the_late_owner_is_fenced(two):
    a, b = two
    a.submit(new(1), b"x", T0)
    late = a.claim("A", 10, T0)
    assert a.heartbeat(late, 10, T0 + 5)  # renewed: lease until T0 + 15
    assert b.claim("B", 10, T0 + 14) is None
    assert b.backlog(T0 + 14) == 0 and b.backlog(T0 + 15) == 1
    taken = b.claim("B", 10, T0 + 15)  # A went silent: re-delivered to B
    assert (taken.owner, taken.attempts) == ("B", 2)
    # A wakes up: every write of its claim is refused, B's answer is the one kept.
    assert not a.heartbeat(late, 10, T0 + 16)
    assert not a.complete(late, "result-1.json", 200, "1", T0 + 16)
    assert not a.fail(late, "boom", T0 + 16)
    assert b.complete(taken, b.files.write_result(taken.id, 2, b'{"ok":1}'), 200, "1", T0 + 17)
    done = a.get(taken.id)
    assert (done.status, done.result_file, done.attempts) == ("succeeded", "result-2.json", 2)
    assert a.result(done) == b'{"ok":1}'
    assert not b.complete(taken, "result-2.json", 200, "1", T0 + 18)  # answered once


def test_same_owner_reclaiming_its_own_expired_lease_is_fenced_by_the_attempt(two):
    a, _ = two
    a.submit(new(1), b"x", T0)
    first = a.claim("A", 10, T0)
    again = a.claim("A", 10, T0 + 10)
    assert again.attempts == 2
    assert not a.complete(first, "result-1.json", 200, "1", T0 + 11)
    assert a.complete(again, "result-2.json", 200, "1", T0 + 11)


def test_a_request_fails_after_max_attempts_with_the_reason(two):
    a, b = two
    a.submit(new(1), b"x", T0)
    a.claim("A", 10, T0)
    b.claim("B", 10, T0 + 10)  # attempt 2 of 2
    assert a.claim("A", 10, T0 + 20) is None  # no attempts left: not re-delivered
    assert b.backlog(T0 + 20) == 1 and b.give_up(T0 + 20) == 1
    failed = a.get(new(1).id)
    assert failed.status == "failed" and failed.finished_at == T0 + 20
    assert "stopped renewing its lease, on each of its 2 attempts" in failed.error
    assert b.backlog(T0 + 20) == 0


def test_a_retried_failure_waits_its_backoff_then_fails_for_good(db, tmp_path):
    s = settings(db, tmp_path, max_attempts=2, retry_base_s=4)
    store = AsyncStore(s, "ep")
    store.submit(new(1), b"x", T0)
    job = store.claim("A", 10, T0)
    assert store.fail(job, "HTTP 500", T0 + 1, retry=True)
    back = store.get(job.id)
    assert (back.status, back.not_before, back.error) == ("queued", T0 + 5, "HTTP 500")
    assert store.claim("A", 10, T0 + 4) is None  # still backing off
    job = store.claim("A", 10, T0 + 5)
    assert store.fail(job, "HTTP 500 again", T0 + 6, result_file=None)
    assert store.get(job.id).status == "failed"


def test_expire_deletes_finished_rows_and_files_after_the_ttl(two, tmp_path):
    a, b = two
    a.submit(new(1), b"x", T0)
    a.submit(new(2), b"x", T0)
    job = a.claim("A", 10, T0)
    a.complete(job, a.files.write_result(job.id, 1, b"{}"), 200, "1", T0 + 1)
    assert b.expire(T0 + 60) == []  # finished at T0 + 1: kept until T0 + 61
    assert b.expire(T0 + 61) == [job.id]
    assert a.get(job.id) is None and not (tmp_path / "files" / job.id).exists()
    assert a.get(new(2).id).status == "queued"  # unfinished work never expires


def test_endpoints_sharing_a_database_see_only_their_own_requests(db, tmp_path):
    s = settings(db, tmp_path)
    one, other = AsyncStore(s, "one"), AsyncStore(s, "other")
    one.submit(new(1), b"x", T0)
    assert other.get(new(1).id) is None and other.claim("B", 10, T0) is None
    assert one.claim("A", 10, T0) is not None


def test_callbacks_are_owed_when_a_request_ends_and_retried_with_backoff(db, tmp_path):
    s = settings(db, tmp_path, callback_max_attempts=3, retry_base_s=2)
    a, b = AsyncStore(s, "ep"), AsyncStore(s, "ep")
    a.submit(new(1, callback_url="http://127.0.0.1:9/cb"), b"x", T0)
    a.submit(new(2), b"x", T0)
    assert a.claim_callback("S", 30, T0) is None  # nothing finished yet
    for _ in range(2):
        job = a.claim("A", 10, T0)
        a.complete(job, a.files.write_result(job.id, 1, b"{}"), 200, "1", T0 + 1)
    sending = a.claim_callback("S", 30, T0 + 1)
    assert sending.id == new(1).id and sending.callback_attempts == 1
    assert b.claim_callback("T", 30, T0 + 1) is None  # one sender at a time
    assert a.callback_sent(sending, T0 + 2, 500, "HTTP 500") == "pending"
    assert b.claim_callback("T", 30, T0 + 3) is None  # backing off 2 s
    again = b.claim_callback("T", 30, T0 + 4)
    assert again.callback_attempts == 2
    assert a.callback_sent(sending, T0 + 4, 200) == "delivered"  # a stale sender: ignored
    assert b.get(again.id).callback_state == "pending"
    assert b.callback_sent(again, T0 + 5, 200) == "delivered"
    done = a.get(again.id)
    assert (done.callback_state, done.callback_status, done.callback_attempts) == (
        "delivered", 200, 2,
    )  # fmt: skip


def test_a_callback_sender_that_died_is_replaced_after_its_lease(two):
    a, b = two
    a.submit(new(1, callback_url="https://example.invalid/cb"), b"x", T0)
    job = a.claim("A", 10, T0)
    a.fail(job, "bad row", T0, result_file=None)
    a.claim_callback("S", 30, T0)  # then S dies without reporting
    assert b.claim_callback("T", 30, T0 + 29) is None
    assert b.claim_callback("T", 30, T0 + 30).callback_attempts == 2


def test_a_refused_callback_is_not_retried(two):
    a, _ = two
    a.submit(new(1, callback_url="https://example.invalid/cb"), b"x", T0)
    job = a.claim("A", 10, T0)
    a.complete(job, "result-1.json", 200, "1", T0)
    cb = a.claim_callback("S", 30, T0)
    assert a.callback_sent(cb, T0, 404, "HTTP 404") == "failed"


def test_a_request_queued_past_queued_ttl_s_expires_unanswered_with_the_reason(db, tmp_path):
    s = settings(db, tmp_path, max_queued=2, queued_ttl_s=100, ttl_s=60)
    a, b = AsyncStore(s, "ep"), AsyncStore(s, "ep")
    a.submit(new(1, callback_url="https://example.invalid/cb"), b"x", T0)
    a.submit(new(2), b"x", T0 + 50)
    assert b.expire_queued(T0 + 99) == []
    assert b.backlog(T0 + 100) == 1  # the stale one is no longer work to wake a consumer for
    assert a.claim("A", 10, T0 + 100).id == new(2).id  # skipped even before the sweep marks it
    assert b.expire_queued(T0 + 100) == [new(1).id]
    gone = a.get(new(1).id)
    assert (gone.status, gone.finished_at, gone.attempts) == ("expired", T0 + 100, 0)
    assert "longer than async_inference.queued_ttl_s (100 s)" in gone.error
    assert "raise queued_ttl_s" in gone.error
    assert a.files.names(gone.id) == []  # its payload is deleted at once
    assert b.expire_queued(T0 + 300) == []  # once; the running one never expires this way
    assert a.claim("B", 10, T0 + 105) is None  # never answered (and 2 is leased to A)
    cb = b.claim_callback("S", 30, T0 + 100)  # its callback is owed, as for any end
    assert (cb.id, cb.status, cb.result_file) == (new(1).id, "expired", None)
    a.submit(new(3), b"x", T0 + 100)  # an expired request frees its place in the queue
    assert b.expire(T0 + 159) == [] and b.expire(T0 + 160) == [new(1).id]  # ttl_s later


def test_a_retried_request_still_queued_past_queued_ttl_s_expires_keeping_its_error(db, tmp_path):
    s = settings(db, tmp_path, queued_ttl_s=10, retry_base_s=30, retry_max_s=30)
    store = AsyncStore(s, "ep")
    store.submit(new(1), b"x", T0)
    job = store.claim("A", 10, T0)
    assert store.fail(job, "HTTP 503", T0 + 1, retry=True)  # queued again, due at T0 + 31
    assert store.claim("A", 10, T0 + 31) is None  # submitted at T0: past queued_ttl_s
    assert store.expire_queued(T0 + 31) == [job.id]
    gone = store.get(job.id)
    assert gone.status == "expired" and gone.attempts == 1
    assert gone.error.startswith("HTTP 503; expired: it waited in the queue longer than")
