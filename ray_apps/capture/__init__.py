"""Data capture: the record format endpoints write and the reader every later job uses.

    from ray_apps.capture import read_capture
    frame = read_capture("raymaker_data/capture", "cancer", version=3, since="2026-11-23T10:00")

``schema`` defines the files (hive partitions, typed columns, ``CaptureRecord`` → table);
``reader`` reads them back, one row per request row. ``serve.capture.CaptureWriter`` writes them.
``labels`` keeps ground-truth labels posted for captured requests beside them
(``write_labels``; the monitor reads ``labels_folder``).
"""

from ray_apps.capture.labels import labels_folder, write_labels
from ray_apps.capture.reader import read_capture
from ray_apps.capture.schema import (
    FEATURE_PREFIX,
    RESERVED,
    CaptureRecord,
    feature_column,
    partition,
    to_table,
)

__all__ = [
    "FEATURE_PREFIX",
    "RESERVED",
    "CaptureRecord",
    "feature_column",
    "labels_folder",
    "partition",
    "read_capture",
    "to_table",
    "write_labels",
]
