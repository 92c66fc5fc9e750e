"""Split the input into units of work: the deterministic plan a run saves and resumes from.

A CSV file is one unit (CSV cannot be entered mid-file without reading it). A Parquet file is
split at row-group boundaries into units of about ``rows_per_unit`` rows. Files are taken in
sorted order, so the same input always gives the same units, numbered from 0; a unit's number
names its output part, which is what makes a retried or resumed unit land on the same file.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass

from ray_apps.errors import DataError

FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}


@dataclass(frozen=True)
class InputFile:
    """One input file as listed: its path or URI, format, size and Parquet row-group sizes."""

    path: str
    format: str  # "csv" | "parquet"
    size: int
    row_groups: tuple[int, ...] = ()  # rows per row group (Parquet only)


@dataclass(frozen=True)
class Unit:
    """One unit of work: a file, or row groups ``[rg_start, rg_end)`` of a Parquet file."""

    index: int
    path: str
    format: str
    rg_start: int = 0
    rg_end: int = 0
    first_row: int = 0  # the file's row number of the unit's first row
    rows: int = -1  # known for Parquet; -1 for CSV

    @property
    def part_name(self) -> str:
        return f"part-{self.index:05d}.parquet"

    def to_dict(self) -> dict:
        return asdict(self)


def file_format(path: str) -> str | None:
    """``csv`` / ``parquet`` by the file's extension, else None (the file is not input)."""
    suffix = "." + path.rsplit(".", 1)[-1].lower() if "." in path.rsplit("/", 1)[-1] else ""
    return FORMATS.get(suffix)


def plan_units(files: list[InputFile], rows_per_unit: int) -> list[Unit]:
    """Units for ``files`` in path order; a pure function of the listing."""
    units: list[Unit] = []
    for f in sorted(files, key=lambda f: f.path):
        if f.format == "csv":
            units.append(Unit(len(units), f.path, "csv"))
            continue
        start, first_row, rows = 0, 0, 0
        for i, n in enumerate(f.row_groups):
            rows += n
            last = i == len(f.row_groups) - 1
            if rows >= rows_per_unit or last:
                units.append(Unit(len(units), f.path, "parquet", start, i + 1, first_row, rows))
                start, first_row, rows = i + 1, first_row + rows, 0
    return units


def fingerprint(files: list[InputFile]) -> str:
    """sha256 of the listing (paths, sizes, row groups): changes when the input does."""
    listing = [asdict(f) for f in sorted(files, key=lambda f: f.path)]
    return hashlib.sha256(json.dumps(listing, sort_keys=True).encode()).hexdigest()


def input_changes(planned: list[dict], now: list[InputFile]) -> list[str]:
    """What differs between the files a run planned (``InputFile`` dicts; a run planned before
    sizes were saved has paths only) and the input now: one phrase per file."""
    before = {f["path"]: f for f in planned}
    after = {f.path: f for f in now}
    changes = [f"added {p}" for p in sorted(after.keys() - before.keys())]
    changes += [f"removed {p}" for p in sorted(before.keys() - after.keys())]
    for path in sorted(before.keys() & after.keys()):
        old, new = before[path], after[path]
        if "size" in old and old["size"] != new.size:
            changes.append(f"{path} changed size ({old['size']:,} -> {new.size:,} bytes)")
        elif "row_groups" in old and tuple(old["row_groups"]) != new.row_groups:
            changes.append(f"{path} has other row groups ({new.row_groups})")
    return changes


def list_input(source: str) -> list[InputFile]:
    """The CSV and Parquet files ``source`` names: a file, a folder, or a glob; path or URI."""
    import pyarrow.parquet as pq

    fs, root = _filesystem(source)
    infos = _matching(fs, root)
    files = []
    for info in infos:
        fmt = file_format(info.path)
        if fmt is None:
            continue
        groups: tuple[int, ...] = ()
        if fmt == "parquet":
            meta = pq.ParquetFile(info.path, filesystem=fs).metadata
            groups = tuple(meta.row_group(i).num_rows for i in range(meta.num_row_groups))
        files.append(InputFile(_uri(source, info.path), fmt, info.size, groups))
    if not files:
        raise DataError(
            f"input {source!r} holds no CSV or Parquet files ({sorted(FORMATS)}); "
            "point input at a file, a folder of them, or a glob"
        )
    return files


def _filesystem(source: str):
    import pyarrow.fs as pafs

    try:
        return pafs.FileSystem.from_uri(source if "://" in source else _abs(source))
    except (ValueError, OSError) as err:  # pyarrow.ArrowInvalid is a ValueError
        raise DataError(f"input {source!r} cannot be opened: {err}") from None


def _matching(fs, root: str):
    import fnmatch

    import pyarrow.fs as pafs

    if any(c in root for c in "*?["):
        base = root[: min(root.index(c) for c in "*?[" if c in root)].rsplit("/", 1)[0]
        found = fs.get_file_info(pafs.FileSelector(base or "/", recursive=True))
        return [i for i in found if i.is_file and fnmatch.fnmatch(i.path, root)]
    info = fs.get_file_info(root)
    if info.type == pafs.FileType.File:
        return [info]
    if info.type == pafs.FileType.Directory:
        found = fs.get_file_info(pafs.FileSelector(root, recursive=True))
        return [i for i in found if i.is_file]
    raise DataError(f"input {root!r} does not exist; give a file, a folder or a glob")


def _abs(path: str) -> str:
    from pathlib import Path

    return str(Path(path).expanduser().absolute())


def _uri(source: str, path: str) -> str:
    """The path as a URI again when ``source`` was one (so workers can open it)."""
    if "://" not in source:
        return path
    scheme = source.split("://", 1)[0]
    return f"{scheme}://{path}"
