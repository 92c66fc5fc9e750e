"""Path segments that come from a URL: a run, model, version or window name, never a path."""

from __future__ import annotations

import re

from ray_apps.errors import NotFoundError

_SEGMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.=:+-]{0,199}$")


def segment(value: str, what: str) -> str:
    """``value`` if it names one folder (no ``/``, no ``..``), else NotFoundError."""
    if not _SEGMENT.match(value) or ".." in value:
        raise NotFoundError(f"no {what} {value!r}: a {what} is one name, not a path")
    return value
