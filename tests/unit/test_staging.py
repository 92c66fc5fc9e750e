"""Reports written to a URI are staged locally, and the staging folder never outlives them."""

import pytest
from _fake_remote import use_fake_remote

from ray_apps._staging import staged


def test_a_remote_target_is_copied_up_and_its_staging_folder_removed(tmp_path, monkeypatch):
    temp = use_fake_remote(monkeypatch, tmp_path)
    target = tmp_path / "store" / "report"
    with staged(f"fake://{target}", "raymaker-test-") as local:
        assert local.parent == temp and local.name.startswith("raymaker-test-")
        (local / "report.json").write_text("{}")
    assert (target / "report.json").read_text() == "{}"
    assert list(temp.iterdir()) == []


def test_a_failed_write_copies_nothing_and_leaves_nothing(tmp_path, monkeypatch):
    temp = use_fake_remote(monkeypatch, tmp_path)
    target = tmp_path / "store" / "report"
    with pytest.raises(RuntimeError), staged(f"fake://{target}", "raymaker-test-") as local:
        (local / "half.json").write_text("{")
        raise RuntimeError("boom")
    assert not target.exists() and list(temp.iterdir()) == []


def test_a_local_target_is_written_in_place(tmp_path, monkeypatch):
    temp = use_fake_remote(monkeypatch, tmp_path)
    with staged(str(tmp_path / "a" / "b"), "raymaker-test-") as local:
        assert local == tmp_path / "a" / "b" and local.is_dir()
    assert local.is_dir() and list(temp.iterdir()) == []
