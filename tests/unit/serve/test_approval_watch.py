"""The replica's registry re-check: when it is due, and what counts as a change."""

from serve.approval_watch import Change, changes, check_due, status_changes


def test_check_is_due_once_per_interval():
    assert check_due(None, 0.0, 30)  # never checked
    assert not check_due(100.0, 129.9, 30)
    assert check_due(100.0, 130.0, 30)


def test_only_moved_statuses_are_changes():
    known = {"iris": "Approved", "wine": "Approved"}
    assert status_changes(known, {"iris": "Approved", "wine": "Approved"}) == {}
    assert status_changes(known, {"iris": "Rejected", "wine": "Approved"}) == {"iris": "Rejected"}
    moved = changes({"iris": 2, "wine": 1}, known, {"iris": "Rejected", "wine": "Approved"})
    assert moved == [Change("iris", 2, "Approved", "Rejected")]
    assert not moved[0].approved
    text = moved[0].message("prod")
    assert "iris:2 served by endpoint prod is now Rejected" in text and "keeps serving" in text
    back = changes({"iris": 2}, {"iris": "Rejected"}, {"iris": "Approved"})
    assert back[0].approved and "Approved again" in back[0].message("prod")
