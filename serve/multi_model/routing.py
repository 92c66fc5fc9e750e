"""Model-aware routing for multi-model endpoints on the HAProxy ingress: requests for a model go
to the replica that holds it, and a hot model spills onto more replicas under load.

Serve's HAProxy balances every backend ``leastconn``: a model's requests land on any replica,
so with R replicas a model is loaded up to R times and a replica's budget holds what any
traffic asked of it (measured: 2 replicas x 10 models hit 40.9 % on a Zipf(1.1) trace, as one
LRU of 10 would). Ray's own model-aware routing lives in the handle router, which direct
ingress bypasses (``serve/README.md`` says where). So a model set's backend balances on the
model's name instead, with HAProxy's bounded-load consistent hashing:

- ``balance hdr(x-raymaker-model)`` + ``hash-type consistent``: each model name maps to one
  replica, and adding or removing a replica moves only its share of the names;
- ``hash-balance-factor``: no replica takes more than that percentage of the mean load, so a
  model hot enough to queue on its replica overflows to the next one on the ring instead of
  pinning to one (ray#48741) — and Serve's autoscaler, which counts each replica's ongoing
  requests, sees the hot model's load wherever it runs;
- the header is set by the backend from the request's path (V1 and V2, any route prefix), after
  dropping whatever a client sent; a request naming no model (health, admin) has none, and
  HAProxy then balances it round-robin.

The edits are a sed script per Serve application, ``haproxy-model-routing.sed`` beside the
wrapper that applies ``serve.haproxy_config``'s (``serve.ingress``), regenerated from the list
of model-set applications (``model-set-apps``) whenever ``serve.deploy``/``undeploy`` change it,
and read by the wrapper on each HAProxy (re)load. They exist only where Serve starts HAProxy
through raymaker's wrapper (the embedded default); elsewhere replicas keep ``leastconn``.
"""

from __future__ import annotations

import fcntl
import os
import re
from pathlib import Path

HEADER = "x-raymaker-model"
# Percent of the mean load a replica may take before the next one on the ring gets a model's
# request. 150 keeps models on their home replica at light load and spreads a hot one as soon as
# its replica holds ~1.5x its share; HAProxy's documentation suggests starting there.
BALANCE_FACTOR = 150
RING_WEIGHT = 100
APPS_FILE = "model-set-apps"
SED_FILE = "haproxy-model-routing.sed"

# The model a request names, as serve/routes.py spells its paths: /v1/models/NAME:verb and
# /v2/models/NAME[/…], under any route prefix. Model names are [A-Za-z0-9_.-] (the registry's).
_MODEL_PATH = r"/v[12]/models/[^/:]+([/:]|$)"
_MODEL_NAME = r"^.*/v[12]/models/([^/:]+).*$"


def backend_name(app: str) -> str:
    """The HAProxy backend Ray Serve 2.60 writes for an HTTP application (its
    ``HAProxyManager._generate_backend_name`` and ``get_safe_name``)."""
    name = f"http-{app}".replace("#", "-").replace("/", ".")
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name)


def backend_directives(balance_factor: int = BALANCE_FACTOR) -> list[str]:
    """The lines a model set's backend gets, in HAProxy's syntax."""
    # Sample-expression quoting as HAProxy's manual shows for regsub: the converter chain in
    # single quotes (no "$" expansion), its regex in double quotes (a ")" inside stays in it).
    name = f'%[path,\'regsub("{_MODEL_NAME}","\\1")\']'
    return [
        f"http-request del-header {HEADER}",
        f"http-request set-header {HEADER} {name} if {{ path_reg {_MODEL_PATH} }}",
        f"balance hdr({HEADER})",
        "hash-type consistent",
        # A server's share of the hash ring grows with its weight; at Serve's default (1) two
        # replicas split 200 model names 86/114, at 100 (before Serve's own default-server
        # line, which keeps it) 103/97. Equal weights: the balance itself is unchanged.
        f"default-server weight {RING_WEIGHT}",
        f"hash-balance-factor {balance_factor}",
    ]


def sed_script(apps: list[str]) -> str:
    """GNU sed (-E) that adds ``backend_directives`` to each app's backend."""
    lines = []
    for app in sorted(set(apps)):
        address = re.escape(backend_name(app))  # [A-Za-z0-9._-] only: "." is the one to escape
        for directive in backend_directives():  # appended in order below the line
            text = directive.replace("\\", "\\\\")  # sed's "a" text unescapes backslashes
            lines.append(f"/^backend {address}$/a\\    {text}")
    return "\n".join(lines) + "\n"


def mark_model_set(folder: Path, app: str, *, model_set: bool) -> None:
    """Record whether Serve application ``app`` is a model set (``serve.deploy`` calls it before
    ``serve.run``, so the reload that adds the app's backend already routes by model), and
    rewrite the sed script. Safe against deploys from several processes at once."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / f"{APPS_FILE}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        apps = set(model_set_apps(folder))
        changed = (app in apps) != model_set
        if model_set:
            apps.add(app)
        else:
            apps.discard(app)
        if changed or not (folder / SED_FILE).exists():
            _replace(folder / APPS_FILE, "".join(f"{a}\n" for a in sorted(apps)))
            _replace(folder / SED_FILE, sed_script(sorted(apps)))


def model_set_apps(folder: Path) -> list[str]:
    """The applications recorded as model sets in ``folder``."""
    path = folder / APPS_FILE
    return path.read_text().split() if path.exists() else []


def _replace(path: Path, text: str) -> None:
    # The wrapper may read it at any moment (an HAProxy reload): never half a file.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
