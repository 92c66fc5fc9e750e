"""A remote store for unit tests, and a private temp folder to count what code leaves in it.

``fake://<path>`` names the local ``<path>``; ``pyarrow.fs.copy_files`` (how raymaker copies
folders to and from URIs) is swapped for a copy that understands it.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pyarrow.fs


def use_fake_remote(monkeypatch, tmp_path: Path) -> Path:
    """Install ``fake://``; returns a fresh folder that ``tempfile`` now creates its folders in."""
    real = pyarrow.fs.copy_files

    def copy_files(source: str, destination: str, *args, **kwargs):
        if not (source.startswith("fake://") or destination.startswith("fake://")):
            return real(source, destination, *args, **kwargs)
        src = Path(source.removeprefix("fake://"))
        if not src.exists():
            raise FileNotFoundError(f"{source} does not exist")
        shutil.copytree(src, destination.removeprefix("fake://"), dirs_exist_ok=True)

    monkeypatch.setattr(pyarrow.fs, "copy_files", copy_files)
    temp = tmp_path / "temp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    return temp
