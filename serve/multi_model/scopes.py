"""API keys scoped to models: a key for ``store-12`` is refused (403) on ``store-13``.

A scope is a list of patterns: an exact model name (``store-12``) or a prefix glob, a name
start followed by one ``*`` at the end (``store-1*``: store-1, store-10 … store-199; ``*``
alone: every model). No other glob syntax, so a scope reads the same to everyone.

Configured in the endpoint's ``auth`` (``serve.config.AuthSpec``): keys still come from
environment variables holding comma-separated keys, and a mapping names, per variable, the
models its keys may call::

    auth:
      api_key_envs: [RAYMAKER_API_KEYS]        # unscoped inference keys
      scoped_key_envs:                         # {variable: scope}; its keys call only these
        STORE_12_KEYS: [store-12]
        STORE_1X_KEYS: ["store-1*"]

Replicas hold ``{sha256 of a key: its scope}`` (``ReplicaSettings.key_scopes``) beside the
digests ``serve.auth`` compares (a scoped key is also accepted by ``authorize`` as an inference
key), and ``EndpointCore`` calls ``check_scope`` on every inference route that names a model,
before reading the body. A key in both an unscoped and a scoped variable is refused at deploy
(ambiguous), as admin/inference overlap is. Admin credentials are never scoped: they change
state, not models' answers.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from ray_apps.errors import PermissionDeniedError, SpecError

Scope = tuple[str, ...]

_PATTERN = re.compile(r"^(?:[A-Za-z0-9][A-Za-z0-9_.-]{0,63}\*?|\*)$")


def parse_scope(patterns: Sequence[str], where: str = "scope") -> Scope:
    """Checked patterns; SpecError names the bad one and the syntax."""
    if isinstance(patterns, str):
        patterns = [patterns]
    if not patterns:
        raise SpecError(
            f"{where} is empty, which would let the key call no model; list model names or "
            "prefix globs (store-12, store-1*), or move the key to api_key_envs (every model)"
        )
    bad = [p for p in patterns if not _PATTERN.fullmatch(p)]
    if bad:
        raise SpecError(
            f"{where} has {bad}; a pattern is a model name (store-12) or a name start with "
            "one * at the end (store-1*), or * for every model"
        )
    return tuple(patterns)


def key_allows(scope: Scope, model_name: str) -> bool:
    """Whether a key with ``scope`` may call ``model_name``."""
    for pattern in scope:
        if pattern.endswith("*"):
            if model_name.startswith(pattern[:-1]):
                return True
        elif model_name == pattern:
            return True
    return False


def check_scope(scopes: Mapping[str, Scope], key_digest: str | None, model_name: str) -> None:
    """The 403 decision, after ``serve.auth.authorize`` accepted the key: pass when the key
    (its sha256, as replicas hold it) is unscoped or its scope allows ``model_name``."""
    scope = scopes.get(key_digest) if key_digest is not None else None
    if scope is None or key_allows(scope, model_name):
        return
    raise PermissionDeniedError(
        f"this API key may not call model {model_name!r}; it may call {list(scope)}: use a "
        "key whose scope includes the model, or ask for one"
    )
