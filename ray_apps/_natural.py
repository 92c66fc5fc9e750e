"""Whole numbers written as text (a URL's version segment, a length header, ``name:3``), read
strictly: ASCII digits only, at most 18 of them.

``str.isdigit()`` is true of ``'²'`` and ``'٣'`` as well as of ``'3'``, and ``int()`` refuses
``'²'``, and any text of more than 4,300 digits, with a ValueError: a check by ``isdigit()``
then ``int()`` answered 500 on ``/v2/models/m/versions/²``, on a 5,000-digit version and on
``Inference-Header-Content-Length: ²`` (found by fuzzing the endpoint against its OpenAPI
document, ``tests/unit/serve/test_openapi_fuzz.py``). 18 digits stay below 2**63, what SQL
stores and numpy holds.
"""

from __future__ import annotations

import re

_DIGITS = re.compile(r"[0-9]{1,18}")


def natural(text: str) -> int | None:
    """``int(text)`` for 1 to 18 ASCII digits, else None (the caller says what was expected)."""
    return int(text) if _DIGITS.fullmatch(text) else None
