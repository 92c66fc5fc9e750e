"""The traffic store on a real SQLite file: tables, one-transaction changes, stats, rollouts."""

import threading

import pytest

from ray_apps.errors import NotFoundError, SpecError
from serve.traffic.stats import StatsAccumulator, VariantStats
from serve.traffic.store import TrafficStore, default_url
from serve.traffic.table import TrafficTable, VariantTarget


def table(deploy_id="d1", **weights) -> TrafficTable:
    return TrafficTable(
        endpoint="ep",
        deploy_id=deploy_id,
        variants=(
            VariantTarget("prod", "fair", 4, "ep"),
            VariantTarget("cand", "fair", 5, "ep--cand"),
        ),
        weights=weights or {"prod": 90.0, "cand": 10.0},
    )


@pytest.fixture()
def url(tmp_path):
    return f"sqlite:///{tmp_path / 'traffic.db'}"


@pytest.fixture()
def store(url):
    return TrafficStore(url)


def test_default_url_is_a_file_under_home(tmp_path):
    assert default_url(str(tmp_path)) == f"sqlite:///{tmp_path.resolve() / 'traffic.db'}"


def test_put_and_get(store):
    assert store.get("ep") is None
    store.put("ep", table(), by="deploy", spec={"name": "ep", "variants": []})
    got = store.get("ep")
    assert got.table == table() and got.spec == {"name": "ep", "variants": []}
    assert got.updated_by == "deploy" and got.updated_at > 0
    # A later put without a spec keeps the deploy's spec; with one, replaces it.
    store.put("ep", table("d2"), by="someone")
    assert store.get("ep").spec == {"name": "ep", "variants": []}
    assert store.get("ep").table.deploy_id == "d2"
    store.put("ep", table("d3"), by="deploy", spec={"name": "ep"})
    assert store.get("ep").spec == {"name": "ep"}
    assert store.get("other") is None


def test_one_version_endpoints_have_no_table(store):
    store.put("one", None, by="deploy", spec={"name": "one", "models": [{"name": "m"}]})
    got = store.get("one")
    assert got.table is None and got.spec["models"] == [{"name": "m"}]


def test_a_second_store_on_the_same_file_sees_the_rows(store, url):
    store.put("ep", table(), by="deploy")
    assert TrafficStore(url).get("ep").table == table()


def test_change_reads_edits_and_writes(store):
    store.put("ep", table(), by="deploy", spec={"name": "ep"})
    new = store.change("ep", lambda t: t.with_weights({"cand": 30}), by="cli alice")
    assert dict(new.weights) == {"prod": 90.0, "cand": 30.0} and new.generation == 1
    got = store.get("ep")
    assert got.table == new and got.updated_by == "cli alice" and got.spec == {"name": "ep"}


def test_a_refused_edit_writes_nothing(store):
    store.put("ep", table(), by="deploy")
    with pytest.raises(SpecError, match="all 0"):
        store.change("ep", lambda t: t.with_weights({"prod": 0, "cand": 0}), by="cli")
    got = store.get("ep")
    assert got.table == table() and got.updated_by == "deploy"


def test_change_needs_a_table(store):
    with pytest.raises(NotFoundError, match=r"endpoint 'nope' has no traffic table in sqlite:///"):
        store.change("nope", lambda t: t, by="cli")
    store.put("one", None, by="deploy")
    with pytest.raises(NotFoundError, match="deploy it with variants"):
        store.change("one", lambda t: t, by="cli")


def test_remove(store):
    store.put("ep", table(), by="deploy")
    store.remove("ep")
    assert store.get("ep") is None
    store.remove("ep")  # nothing to remove: no error


def test_two_threads_changing_weights_never_lose_an_update(url):
    TrafficStore(url).put("ep", table(prod=1.0, cand=0.0), by="deploy")
    errors = []
    together = threading.Barrier(2)

    def bump(variant):
        try:
            s = TrafficStore(url)  # one store per writer, as separate processes have
            together.wait()
            for _ in range(50):
                s.change(
                    "ep",
                    lambda t: t.with_weights({variant: t.weights[variant] + 1}),
                    by=f"thread {variant}",
                )
        except Exception as err:  # noqa: BLE001 — surfaced by the assert below
            errors.append(err)

    threads = [threading.Thread(target=bump, args=(v,)) for v in ("cand", "cand")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    final = TrafficStore(url).get("ep").table
    assert final.weights["cand"] == 100.0 and final.generation == 100


def stats(requests, e5=0, e4=0, ms=1.0) -> VariantStats:
    acc = StatsAccumulator()
    for i in range(requests):
        acc.observe("v", 500 if i < e5 else 404 if i < e5 + e4 else 200, ms)
    return acc.take()["v"]


def test_stats_sum_over_replicas_and_intervals_in_the_window(store):
    store.add_stats("ep", "r1", 10.0, {"prod": stats(10, e5=1), "cand": stats(2, e4=1)})
    store.add_stats("ep", "r2", 11.0, {"prod": stats(5, ms=100.0)})
    store.add_stats("ep", "r1", 12.0, {"cand": stats(3, e5=2)})
    store.add_stats("ep", "r1", 20.0, {"prod": stats(1000)})  # after the window
    store.add_stats("other", "r1", 11.0, {"prod": stats(7)})  # another endpoint
    got = store.stats_since("ep", 9.0, 12.0)
    assert set(got) == {"prod", "cand"}
    assert (got["prod"].requests, got["prod"].errors_5xx, got["prod"].errors_4xx) == (15, 1, 0)
    assert (got["cand"].requests, got["cand"].errors_5xx, got["cand"].errors_4xx) == (5, 2, 1)
    assert got["prod"] == stats(10, e5=1).merged(stats(5, ms=100.0))
    assert sum(got["prod"].latency_counts) == 15


def test_the_stats_window_excludes_its_start_and_includes_its_end(store):
    for at in (1.0, 2.0, 3.0):
        store.add_stats("ep", "r1", at, {"prod": stats(int(at))})
    assert store.stats_since("ep", 1.0, 3.0)["prod"].requests == 2 + 3
    assert store.stats_since("ep", 1.0, 2.0)["prod"].requests == 2
    assert store.stats_since("ep", 0.0)["prod"].requests == 6
    assert store.stats_since("ep", 3.0) == {}


def test_prune_drops_rows_older_than_a_week(store):
    week = 7 * 86400.0
    store.add_stats("ep", "r1", 100.0, {"prod": stats(1)})
    store.add_stats("ep", "r1", 200.0, {"prod": stats(2)})
    store.prune_stats(now=150.0 + week)
    assert store.stats_since("ep", 0.0)["prod"].requests == 2


def test_rollout_put_and_get(store):
    assert store.get_rollout("ep") is None
    record = {"spec": {"candidate": "fair:5"}, "state": {"status": "running"}, "history": []}
    store.put_rollout("ep", record)
    assert store.get_rollout("ep") == record
    store.put_rollout("ep", {**record, "state": {"status": "promoted"}})
    assert store.get_rollout("ep")["state"] == {"status": "promoted"}
    assert store.get_rollout("other") is None
