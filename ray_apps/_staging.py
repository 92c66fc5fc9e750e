"""A local folder to write a report into, wherever the report is going.

Reports (evaluation, monitoring, bias) go to a local folder or to a URI (s3://, gs://, …).
Written to a URI, they are staged in a temporary folder and copied up at the end; that folder
is removed whether the copy happened or the writing failed, so no run leaves one behind in
the user's temp folder.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def staged(target: str, prefix: str) -> Iterator[Path]:
    """A local folder for ``target``: the folder itself when local (created); otherwise a
    temporary folder (named ``prefix…``) copied to the URI ``target`` when the block ends
    without error, and removed either way."""
    if "://" not in target:
        local = Path(target)
        local.mkdir(parents=True, exist_ok=True)
        yield local
        return
    local = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield local
        import pyarrow.fs as pafs

        pafs.copy_files(str(local), target)
    finally:
        shutil.rmtree(local, ignore_errors=True)
