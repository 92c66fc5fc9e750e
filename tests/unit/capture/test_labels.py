"""Posted labels on disk: one file per call, written by several writers at once, read back by
the monitor's label reader with the later label of a request row winning."""

import threading
from datetime import UTC, datetime, timedelta

from ray_apps.capture import labels_folder, write_labels
from ray_apps.capture.labels import capture_files, has_labels
from ray_apps.monitoring.labels import read_labels

T0 = datetime(2026, 11, 24, 10, tzinfo=UTC)


def test_concurrent_writers_lose_nothing_and_readers_see_whole_files(tmp_path):
    def replica(k: int) -> None:
        for call in range(10):
            ids = [f"r{k}-{call}-{i}" for i in range(5)]
            write_labels(tmp_path, "cancer", ids, [0] * 5, [1] * 5, now=T0)

    threads = [threading.Thread(target=replica, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    files = list(labels_folder(tmp_path, "cancer").rglob("*"))
    assert len([f for f in files if f.is_file()]) == 40  # one per call, no temporary left
    frame = read_labels(str(labels_folder(tmp_path, "cancer")), "label")
    assert len(frame) == 200 and frame["request_id"].is_unique
    assert has_labels(tmp_path, "cancer") and not has_labels(tmp_path, "other")


def test_the_later_label_wins_and_labels_read_as_class_names(tmp_path):
    write_labels(tmp_path, "m", ["a", "b"], [0, 2], [1.0, "x"], now=T0 + timedelta(hours=1))
    write_labels(tmp_path, "m", ["a"], [0], [0], now=T0)  # arrived earlier, stored later
    write_labels(tmp_path, "m", ["b"], [2], ["y"], now=T0 + timedelta(hours=2))
    frame = read_labels(str(labels_folder(tmp_path, "m")), "label")
    last = frame.drop_duplicates(["request_id", "row"], keep="last").set_index("request_id")
    assert last.loc["a", "label"] == "1"  # 1.0 is the class "1"; the 10:00 label lost
    assert (last.loc["b", "row"], last.loc["b", "label"]) == (2, "y")


def test_capture_files_of_every_version_since(tmp_path):
    for version, hour in (("1", 8), ("2", 9), ("2", 11)):
        folder = (
            tmp_path / "model=m" / f"version={version}" / "date=2026-11-24" / f"hour={hour:02d}"
        )
        folder.mkdir(parents=True)
        (folder / "part-x.parquet").write_bytes(b"")
    found = capture_files(tmp_path, "m", T0 - timedelta(minutes=30))
    assert [f.parts[-4] for f in found] == ["version=2", "version=2"]
