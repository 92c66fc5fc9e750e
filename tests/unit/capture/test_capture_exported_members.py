"""Pins the public surface of ``ray_apps.capture`` (the format later jobs read and write)."""

from ray_apps import capture


def test_capture_public_names():
    assert sorted(capture.__all__) == [
        "CaptureRecord",
        "FEATURE_PREFIX",
        "RESERVED",
        "feature_column",
        "labels_folder",
        "partition",
        "read_capture",
        "to_table",
        "write_labels",
    ]
    for name in capture.__all__:
        assert getattr(capture, name) is not None
