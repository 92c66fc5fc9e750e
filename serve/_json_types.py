"""JSON type checks for request bodies: a wrong type is a 400 naming the field and the type.

``json.loads`` gives dict, list, str, int, float, bool and None; a field holding the wrong one
would otherwise surface deep in parsing as a TypeError (a 500). Optional fields may be JSON
``null``, read as absent, as SDKs that serialize ``None`` send them.
"""

from __future__ import annotations

from typing import Any

from ray_apps.errors import SpecError

_NAMES = {
    dict: "an object",
    list: "a list",
    str: "a string",
    bool: "a boolean",
    int: "an integer",
    float: "a number",
    type(None): "null",
}


def json_type(value: Any) -> str:
    return _NAMES.get(type(value), type(value).__name__)


def expect(value: Any, kind: type, field: str, *, optional: bool = False) -> Any:
    """``value`` if it is of JSON type ``kind`` (bool is never an integer here), else 400."""
    if value is None and optional:
        return None
    if type(value) is not kind:
        raise SpecError(f"{field} must be {_NAMES[kind]}, got {json_type(value)}")
    return value


def expect_int(value: Any, field: str, *, minimum: int = 0) -> int:
    if type(value) is not int or value < minimum:
        raise SpecError(
            f"{field} must be an integer >= {minimum}, got {json_type(value)} {value!r:.40}"
        )
    return value


def holds_bool(data: Any, body: bytes) -> bool:
    """Whether nested lists ``data`` hold a JSON boolean, which numpy would read as 0 or 1.

    Walked only when the raw body has ``true``/``false`` at all, so numeric bodies pay one
    bytes search; ``data`` already went through numpy, so its depth is at most 64."""
    if b"true" not in body and b"false" not in body:
        return False
    stack = [data]
    while stack:
        item = stack.pop()
        if type(item) is bool:
            return True
        if type(item) is list:
            stack.extend(item)
        elif type(item) is dict:
            stack.extend(item.values())
    return False
