"""Our error again, from the error Ray hands back when code in a Ray worker raised it.

A ``DataError`` raised in a Ray Data actor (a missing ``id_column``, say) reaches the caller as
``RayTaskError(UserCodeException)`` "UDF failed to process a data block", with the original
exception gone (Ray does not carry ``__cause__`` across processes) and only its traceback text
left. Seen with Ray 2.60: the CLI printed a traceback instead of one line and exit 2, and a
batch job's status said "UDF failed". The text keeps the original's last line,
``ray_apps.errors.DataError: <message>``: this finds it and raises the same class again.
"""

from __future__ import annotations

import re

from ray_apps import errors

_LINE = re.compile(r"^ray_apps\.errors\.(\w+): (.+)$", re.M)


def raymaker_error(err: BaseException) -> errors.RaymakerError | None:
    """The raymaker error ``err`` carries (itself, a cause, or in Ray's traceback text)."""
    seen: BaseException | None = err
    while seen is not None:
        from_ray = type(seen).__module__.startswith("ray.")  # RayTaskError(DataError) too
        if isinstance(seen, errors.RaymakerError) and not from_ray:
            return seen
        if from_ray:  # a RayTaskError's text is the remote traceback, chain included
            for name, message in reversed(_LINE.findall(str(seen))):  # ours raised last first
                cls = getattr(errors, name, None)
                if isinstance(cls, type) and issubclass(cls, errors.RaymakerError):
                    return cls(message.strip())
        seen = getattr(seen, "cause", None) or seen.__cause__
    return None
