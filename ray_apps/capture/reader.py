"""``read_capture``: captured traffic of one model as a table, one row per request row.

    from ray_apps import read_capture

    frame = read_capture("raymaker_data/capture", "cancer", version=3,
                         since=datetime(2026, 11, 23, 10, tzinfo=UTC),
                         until=datetime(2026, 11, 23, 12, tzinfo=UTC))
    frame[model_features]            # the inputs, a column per feature, as the model saw them
    frame.prediction, np.stack(frame.probabilities)
    frame[frame.status != 200][["request_id", "status", "error", "body"]]

Columns, in order: ``ts`` (UTC), ``request_id``, ``row`` (index within the request),
``model``, ``version``, ``protocol`` (the route), ``status``, ``latency_ms``, ``variant`` (the
endpoint variant that answered, or None), ``shadow`` (True: a shadow copy's answer, never
returned to the caller; filter ``~frame.shadow`` for what callers got), one column per
feature (the model's feature names, in feature order), ``prediction``, ``probabilities``
(classifiers only: a list per row, in the order of the version's classes), ``error`` and
``body``. Rows of failed requests whose features did not parse have null features and
prediction, and keep ``status``, ``error`` and the raw ``body`` text.

Only partitions whose hour overlaps ``[since, until)`` are opened; rows are then filtered on
``ts``. Naive datetimes are taken as UTC. ``path`` is a folder or any fsspec URI (``s3://…``).

**Feature names that collide with a column above** (a feature called ``status`` or ``ts``):
the reader refuses with an error naming them, unless ``feature_prefix`` is given, which then
names every feature column ``<prefix><feature>``. Refusing, rather than renaming only the
colliding features or suffixing metadata, keeps the rule "feature columns are the model's
feature names" true whenever a frame is returned; a caller whose model has such names says so
once and gets a frame whose columns do not depend on which names happened to collide.

Files of format 2 (before variants) read with ``variant`` None and ``shadow`` False. Files of
format 1 (JSON ``inputs``/``outputs``) read into the same columns (``ray_apps.capture._legacy``);
they stored no feature names, which come from a newer file of the same version, or from
``features``.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path, PurePosixPath

import pandas as pd

from ray_apps.capture import _legacy
from ray_apps.capture.schema import (
    FEATURE_PREFIX,
    METADATA_KEY,
    RESERVED,
    frame_columns,
    hour_of,
)
from ray_apps.errors import DataError, NotFoundError, SpecError


def read_capture(
    path: str | Path,
    model: str,
    version: int | str | None = None,
    since: datetime | str | None = None,
    until: datetime | str | None = None,
    *,
    features: Sequence[str] | None = None,
    feature_prefix: str = "",
) -> pd.DataFrame:
    """Captured rows of ``model`` (all versions, or ``version``) answered in ``[since, until)``."""
    import fsspec

    start, end = _utc(since, "since"), _utc(until, "until")
    frames, names = [], list(features) if features is not None else None
    fs, root = fsspec.core.url_to_fs(str(path))
    for folder in _version_folders(fs, PurePosixPath(root), model, version):
        files = _files(fs, folder, start, end)
        version_features = (
            names or _stored_features(fs, files) or _stored_features(fs, _files(fs, folder))
        )
        for f in files:
            frame = _read(fs, f, version_features, feature_prefix)
            frame["model"], frame["version"] = model, folder.name.removeprefix("version=")
            frames.append(frame)
    if not frames:
        return pd.DataFrame(columns=frame_columns([f"{feature_prefix}{n}" for n in names or []]))
    with warnings.catch_warnings():
        # A file whose rows all failed has all-NA prediction columns; pandas 2 warns that it
        # will stop ignoring them when picking dtypes. Ignoring them is what a reader wants
        # (a float column stays float), so keep today's behaviour without the noise.
        warnings.filterwarnings("ignore", "The behavior of DataFrame concatenation", FutureWarning)
        out = pd.concat(frames, ignore_index=True)
    for c in ("prediction", "error", "body"):  # absent when every row of a file failed
        if c not in out:
            out[c] = None
    out = out[[c for c in frame_columns([c for c in out if c not in RESERVED]) if c in out]]
    if start is not None:
        out = out[out.ts >= start]
    if end is not None:
        out = out[out.ts < end]
    return out.sort_values(["ts", "request_id", "row"], kind="stable").reset_index(drop=True)


def _read(fs, file: PurePosixPath, features: list[str] | None, prefix: str) -> pd.DataFrame:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pq.read_table(str(file), filesystem=fs)
    if _legacy.is_legacy(table.column_names):
        if features is None:
            raise DataError(
                f"{file} was written before capture stored feature names, and no newer file of "
                "this version has them; pass features=[...] (the version's feature names, "
                "load_model(artifact).info.feature_names)"
            )
        frame = _legacy.legacy_frame(table.to_pandas(), list(features), str(file))
        stored = list(features)
    else:
        # Integer labels stay integers next to failed rows' nulls (not floats with NaN).
        frame = table.to_pandas(types_mapper={pa.int64(): pd.Int64Dtype()}.get)
        stored = json.loads(table.schema.metadata[METADATA_KEY])["features"]
    clash = sorted(set(stored) & set(RESERVED))
    if clash and not prefix:
        raise SpecError(
            f"{file}: features {clash} have the names of capture columns {list(RESERVED)}; "
            'pass feature_prefix="feature." (or another prefix) to read every feature '
            "column as <prefix><name>"
        )
    frame["ts"] = pd.to_datetime(frame["ts"], utc=True).astype("datetime64[us, UTC]")
    # Formats 1 and 2 predate variants: each row was the one version's answer to its caller.
    if "variant" not in frame:
        frame["variant"] = pd.Series([None] * len(frame), index=frame.index, dtype=object)
    if "shadow" not in frame:
        frame["shadow"] = False
    return frame.rename(columns={FEATURE_PREFIX + f: prefix + f for f in stored})


def _glob(fs, pattern: PurePosixPath) -> list[PurePosixPath]:
    return sorted(PurePosixPath(p) for p in fs.glob(str(pattern)))


def _version_folders(
    fs, root: PurePosixPath, model: str, version: int | str | None
) -> list[PurePosixPath]:
    base = root / f"model={model}"
    if not fs.isdir(str(base)):
        found = sorted(p.name.removeprefix("model=") for p in _glob(fs, root / "model=*"))
        raise NotFoundError(
            f"no capture of model {model!r} under {root}; models captured there: {found}"
        )
    if version is None:
        return _glob(fs, base / "version=*")
    folder = base / f"version={version}"
    if not fs.isdir(str(folder)):
        found = sorted(p.name.removeprefix("version=") for p in _glob(fs, base / "version=*"))
        raise NotFoundError(f"no capture of {model}:{version}; versions captured: {found}")
    return [folder]


def _files(
    fs, folder: PurePosixPath, start: datetime | None = None, end: datetime | None = None
) -> list:
    """Part files of the hour partitions overlapping ``[start, end)`` (no file is opened)."""
    out = []
    for hour_dir in _glob(fs, folder / "date=*" / "hour=*"):
        hour = hour_of(hour_dir)
        if hour is None:
            continue
        if start is not None and hour + timedelta(hours=1) <= start:
            continue
        if end is not None and hour >= end:
            continue
        out.extend(_glob(fs, hour_dir / "part-*.parquet"))
    return out


def _stored_features(fs, files: list[PurePosixPath]) -> list[str] | None:
    import pyarrow.parquet as pq

    for f in files:
        meta = pq.read_schema(str(f), filesystem=fs).metadata or {}
        if METADATA_KEY in meta:
            return json.loads(meta[METADATA_KEY])["features"]
    return None


def _utc(value: datetime | str | None, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        ts = pd.Timestamp(value)
    except ValueError:
        raise SpecError(f"{name}={value!r} is not a time; pass a datetime or ISO 8601") from None
    return (ts.tz_localize(UTC) if ts.tzinfo is None else ts.tz_convert(UTC)).to_pydatetime()
