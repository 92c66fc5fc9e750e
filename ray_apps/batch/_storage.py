"""Files of a batch run on any pyarrow filesystem, written so no reader sees half a file.

Every file is written under a temporary name starting with ``.`` (which pyarrow's and Ray
Data's dataset readers skip) and then moved onto its final name: a rename on a local or POSIX
shared filesystem, so a file is either absent or whole.
"""

from __future__ import annotations

import json
import uuid
from typing import Any


def filesystem(uri: str):
    """``(filesystem, path)`` for a local path or a URI pyarrow understands."""
    import pyarrow.fs as pafs

    return pafs.FileSystem.from_uri(uri) if "://" in uri else (pafs.LocalFileSystem(), uri)


def temporary(path: str) -> str:
    """A unique hidden sibling of ``path`` to write before moving onto it."""
    folder, name = path.rsplit("/", 1)
    return f"{folder}/.{name}.tmp-{uuid.uuid4().hex[:8]}"


def remove_temporaries(fs, folder: str, name: str) -> list[str]:
    """Remove the temporary files of ``name`` in ``folder`` (those ``temporary`` names), left
    by a writer that died before moving them; the file ``name`` itself is never touched."""
    import pyarrow.fs as pafs

    prefix = f".{name}.tmp-"
    found = fs.get_file_info(pafs.FileSelector(folder, allow_not_found=True))
    stale = [i.path for i in found if i.is_file and i.base_name.startswith(prefix)]
    for path in stale:
        fs.delete_file(path)
    return stale


def write_json(fs, path: str, data: Any) -> None:
    """Write ``data`` as JSON to ``path`` atomically (temporary name, then move)."""
    write_text(fs, path, json.dumps(data, indent=2, sort_keys=True, default=str))


def write_text(fs, path: str, text: str) -> None:
    """Write ``text`` to ``path`` atomically (temporary name, then move)."""
    fs.create_dir(path.rsplit("/", 1)[0], recursive=True)
    tmp = temporary(path)
    with fs.open_output_stream(tmp) as f:
        f.write(text.encode())
    fs.move(tmp, path)


def read_json(fs, path: str) -> Any | None:
    """The JSON at ``path``, or None when there is no such file."""
    import pyarrow.fs as pafs

    if fs.get_file_info(path).type != pafs.FileType.File:
        return None
    with fs.open_input_stream(path) as f:
        return json.loads(f.read().decode())


def claim_once(fs, path: str) -> bool:
    """True the first time only: creates the marker ``path`` (fault injection fires once)."""
    import pyarrow.fs as pafs

    if fs.get_file_info(path).type != pafs.FileType.NotFound:
        return False
    fs.create_dir(path.rsplit("/", 1)[0], recursive=True)
    with fs.open_output_stream(path) as f:
        f.write(b"fired")
    return True
