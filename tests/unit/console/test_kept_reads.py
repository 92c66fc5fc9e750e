"""What the console keeps between page loads and when it reads again: the registry's snapshot
(a SQLite store: at its next commit, from anyone; another store: after ``TTL_S`` or the
console's own decision) and the A/B and shadow readouts (while the capture holds, or for
``MAX_AGE_S``)."""

from __future__ import annotations

from _console import MODEL

from console.readers import registry_reads
from console.readers.experiments import Outcome, Readouts
from console.readers.registry_reads import TTL_S, RegistryReads
from ray_apps import registry


def test_a_change_made_outside_the_console_shows_on_the_next_page(console_client, registry_uri):
    client = console_client("viewer")
    page = f"/models/{MODEL}/versions/2"
    assert 'id="status">Pending<' in client.get(page).text
    assert ">1</td>" in client.get("/models").text  # latest approved: 1
    registry.approve(MODEL, 2, by="cli", reason="from a terminal", tracking_uri=registry_uri)
    assert 'id="status">Approved<' in client.get(page).text
    assert "from a terminal" in client.get(page).text


def test_another_store_is_read_again_after_the_ttl_and_after_a_decision(monkeypatch):
    reads = []
    monkeypatch.setattr(
        registry_reads.registry, "all_versions", lambda tracking_uri: reads.append(1) or {}
    )
    now = [100.0]
    kept = RegistryReads("postgresql://db/mlflow", clock=lambda: now[0])
    kept.list_models()
    kept.served_endpoints()
    assert len(reads) == 1
    now[0] += TTL_S + 0.1
    kept.list_models()
    assert len(reads) == 2
    kept.forget()  # the console approved or rejected a version
    kept.list_models()
    assert len(reads) == 3


def test_a_readout_is_kept_while_its_capture_holds_or_while_it_is_young():
    now = [1000.0]
    computed = []

    def compute() -> Outcome:
        computed.append(now[0])
        return Outcome(len(computed), computed_at=now[0])

    kept = Readouts(clock=lambda: now[0], max_age_s=30)
    assert kept.get(("ab", "ep"), ("file", 1), compute).result == 1
    now[0] += 100
    assert kept.get(("ab", "ep"), ("file", 1), compute).result == 1  # the capture is the same
    assert kept.get(("ab", "ep"), ("file", 2), compute).result == 2  # grew, result was old
    now[0] += 10
    assert kept.get(("ab", "ep"), ("file", 3), compute).result == 2  # grew again, 10 s young
    assert kept.get(("shadow", "ep"), ("file", 3), compute).result == 3  # another readout
    now[0] += 30
    assert kept.get(("ab", "ep"), ("file", 3), compute).result == 4
