"""The record of ``raymaker up``: which cluster counts as up, and what joins it (no Ray here;
``tests/integration/test_local_cluster.py`` starts and stops a real one)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from ray_apps import local_cluster
from ray_apps._ray_runtime import joins_a_cluster


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("RAYMAKER_HOME", str(tmp_path))
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    return tmp_path


def _record(home, pid: int) -> None:
    cluster = local_cluster.WarmCluster(
        address="127.0.0.1:1",
        dashboard="http://127.0.0.1:2",
        pid=pid,
        temp_dir=str(home / "gone"),
        token="t",
        cpus=4,
        started_at=0.0,
    )
    local_cluster._write_record(home / local_cluster.RECORD, cluster)


def test_no_record_means_no_cluster(home):
    assert local_cluster.running() is None
    assert not joins_a_cluster()
    assert local_cluster.down() is None


def test_a_malformed_record_is_no_cluster(home):
    (home / local_cluster.RECORD).write_text("{not json")
    assert local_cluster.running() is None


def test_a_record_whose_process_is_gone_is_no_cluster(home):
    done = subprocess.Popen([sys.executable, "-c", "pass"], start_new_session=True)
    done.wait()
    _record(home, done.pid)
    assert local_cluster.running() is None and not joins_a_cluster()


def test_a_pid_that_leads_no_group_of_its_own_is_not_the_cluster(home):
    # A reused pid: a process alive, but not the leader of a group as ray start's is.
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    try:
        _record(home, other.pid)
        assert local_cluster.running() is None
    finally:
        other.kill()
        other.wait()


def test_a_live_group_leader_counts_as_up_and_down_stops_it(home):
    leader = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(600)"], start_new_session=True
    )
    try:
        _record(home, leader.pid)
        found = local_cluster.running()
        assert found is not None and found.address == "127.0.0.1:1"
        assert joins_a_cluster()
        assert found.env() == {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": "t"}
        stopped = local_cluster.down()
        assert stopped == found
        assert leader.wait(timeout=30) is not None  # SIGTERM reached it
        assert not (home / local_cluster.RECORD).exists()
        assert local_cluster.running() is None
    finally:
        if leader.poll() is None:
            leader.kill()
            leader.wait()


def test_the_record_is_owner_only_and_a_cluster_address_still_wins(home, monkeypatch):
    _record(home, 1)
    assert (home / local_cluster.RECORD).stat().st_mode & 0o077 == 0  # it holds the token
    assert json.loads((home / local_cluster.RECORD).read_text())["token"] == "t"
    monkeypatch.setenv("RAY_ADDRESS", "127.0.0.1:6379")
    assert joins_a_cluster()
