"""``read_output``: a batch run's committed output as the table ``read_capture`` gives.

    from ray_apps.batch import read_output
    frame = read_output(result.run_dir)      # or a job's run_dir / output path
    frame[model_features], frame.prediction, np.stack(frame.probabilities)

So a monitoring job takes a batch run's output or a window of captured traffic alike. Columns,
in ``read_capture``'s order: ``ts`` (UTC: when the row's unit was committed), ``request_id``
and ``row`` (the row's id: its ``source_file`` and ``source_row``; with an ``id_column``, the
id as text and row 0), ``model``, ``version`` (text, as capture's partition gives it),
``protocol`` (``"batch"``), ``status`` (200), ``latency_ms`` (null), ``variant`` (null),
``shadow`` (False), one column per feature (the model's feature names, in feature order),
``prediction``, ``probabilities`` (classifiers), ``error`` and ``body`` (null). Rows are in
the run's plan order (file, then row).

Only committed units are read: a part whose unit has no ``units/`` record yet (being written,
or written by a worker that died before committing) is never opened, so a frame read while the
job runs holds whole units only. Rejected rows are not output (they are in ``rejects/``).
A run written with ``keep: id`` has no feature columns and is refused; feature names that
collide with the frame's other columns are refused unless ``feature_prefix`` is given, as in
``read_capture``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import pandas as pd

from ray_apps.batch import _storage
from ray_apps.batch.plan import Unit
from ray_apps.batch.rows import ID_FILE, ID_ROW
from ray_apps.batch.transform import METADATA_KEY, OUTPUT, UNITS
from ray_apps.capture.schema import RESERVED, frame_columns
from ray_apps.errors import DataError, NotFoundError, SpecError

PROTOCOL = "batch"


def read_output(
    path: str, *, features: Sequence[str] | None = None, feature_prefix: str = ""
) -> pd.DataFrame:
    """The committed output rows of the batch run at ``path`` (its folder, or its output/)."""
    fs, run_dir = _run_dir(path)
    plan = _storage.read_json(fs, f"{run_dir}/plan.json")
    frames = []
    for unit in (Unit(**u) for u in plan["units"]):
        info = fs.get_file_info(f"{run_dir}/{UNITS}/{unit.part_name}.json")
        if not info.is_file:
            continue  # not committed: its part may be partial or from a dead worker
        stats = _storage.read_json(fs, info.path)
        if stats["rows_out"]:
            part = f"{run_dir}/{OUTPUT}/{unit.part_name}"
            frames.append(_read_part(fs, part, info.mtime, features, feature_prefix))
    if not frames:
        names = [f"{feature_prefix}{n}" for n in features or []]
        return pd.DataFrame(columns=frame_columns(names))
    return pd.concat(frames, ignore_index=True)


def _run_dir(path: str):
    fs, root = _storage.filesystem(str(path).rstrip("/"))
    for candidate in (root, root.rsplit("/", 1)[0] if root.endswith(f"/{OUTPUT}") else None):
        if candidate and _storage.read_json(fs, f"{candidate}/plan.json") is not None:
            return fs, candidate
    raise NotFoundError(
        f"{path} is not a batch run (no plan.json); pass the run folder a batch job wrote "
        "(BatchResult.run_dir, or run_dir in the job's status)"
    )


def _read_part(fs, path: str, committed_at, features, prefix: str) -> pd.DataFrame:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pq.read_table(path, filesystem=fs)
    meta = json.loads((table.schema.metadata or {}).get(METADATA_KEY, b"{}"))
    names = list(features) if features is not None else meta.get("features")
    if names is None:
        raise DataError(
            f"{path} was written before batch output recorded its feature names; pass "
            "features=[...] (load_model(artifact).info.feature_names)"
        )
    missing = [n for n in names if n not in table.column_names]
    if missing:
        raise DataError(
            f"{path} has no feature columns {missing}: the run kept only ids (keep: id); "
            "run the job with keep: all to monitor its output"
        )
    clash = sorted(set(names) & set(RESERVED))
    if clash and not prefix:
        raise SpecError(
            f"{path}: features {clash} have the names of capture columns {list(RESERVED)}; "
            'pass feature_prefix="feature." (or another prefix) to read every feature '
            "column as <prefix><name>"
        )
    raw = table.to_pandas(types_mapper={pa.int64(): pd.Int64Dtype()}.get)
    n = len(raw)
    request_id, row = _ids(raw, meta.get("id_column"))
    ts = pd.Timestamp(committed_at)
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    frame = pd.DataFrame(
        {
            "ts": pd.Series([ts] * n, dtype="datetime64[us, UTC]"),
            "request_id": request_id,
            "row": row,
            "model": raw["model"].astype(str),
            "version": raw["version"].astype(str),
            "protocol": PROTOCOL,
            "status": pd.Series([200] * n, dtype="int32"),
            "latency_ms": pd.Series([float("nan")] * n, dtype="float64"),
            "variant": pd.Series([None] * n, dtype=object),  # a batch run has no variants
            "shadow": False,
        }
    )
    for name in names:
        frame[f"{prefix}{name}"] = raw[name].astype("float64")
    frame["prediction"] = raw["prediction"]
    if "probabilities" in raw:
        frame["probabilities"] = raw["probabilities"]
    frame["error"] = frame["body"] = None
    return frame[[c for c in frame_columns([f"{prefix}{n}" for n in names]) if c in frame]]


def _ids(raw: pd.DataFrame, id_column: str | None) -> tuple[pd.Series, pd.Series]:
    """``(request_id, row)``: the source file and row, or the id column's value and 0."""
    if id_column is not None:
        return raw[id_column].astype(str), pd.Series([0] * len(raw), dtype="int32")
    return raw[ID_FILE].astype(str), raw[ID_ROW].astype("int32")
