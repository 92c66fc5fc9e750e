from datetime import UTC, datetime

import pytest

from ray_apps.errors import ApprovalError, SpecError
from ray_apps.registry.approval import deployable, history_append, transition

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    ("current", "action", "target"),
    [
        ("Pending", "approve", "Approved"),
        ("Pending", "reject", "Rejected"),
        ("Approved", "reject", "Rejected"),
        ("Rejected", "approve", "Approved"),
    ],
)
def test_allowed_transitions_record_who_when_why(current, action, target):
    d = transition(current, action, by="alice", reason="auc 0.99", now=NOW)
    assert (d.status, d.by, d.at, d.reason) == (target, "alice", "2026-01-02T03:04:05Z", "auc 0.99")


@pytest.mark.parametrize(("current", "action"), [("Approved", "approve"), ("Rejected", "reject")])
def test_repeating_a_decision_is_refused(current, action):
    with pytest.raises(ApprovalError, match=f"already {current}"):
        transition(current, action, by="bob")


def test_unknown_action_and_missing_author_are_spec_errors():
    with pytest.raises(SpecError, match="'promote' is unknown"):
        transition("Pending", "promote", by="bob")
    with pytest.raises(SpecError, match="who took it"):
        transition("Pending", "approve", by="  ")


def test_history_appends_in_order():
    first = transition("Pending", "approve", by="a", now=NOW)
    second = transition("Approved", "reject", by="b", reason="drift", now=NOW)
    history = history_append(history_append(None, first), second)
    assert '"status": "Approved"' in history and history.index("Approved") < history.index("drift")


def test_only_approved_deploys_unless_forced():
    assert deployable("Approved")
    assert not deployable("Pending") and not deployable("Rejected")
    assert deployable("Pending", force=True)
