"""What raymaker changes in the HAProxy config Ray Serve writes, and why: a sed script.

Ray Serve renders HAProxy's config from its own template and (re)starts HAProxy on every
change of replicas. On the embedded default Serve starts HAProxy through raymaker's wrapper
(``serve.ingress``), which applies this script to the config before exec'ing the binary, so
every reload gets the same edits.

**Admin surfaces stay local.** The template binds the stats page and the Prometheus exporter
on every interface (``bind *:PORT`` / ``bind :PORT``) and creates the admin socket world-
writable; the wrapper binds both to a host of its environment (its own rule, it needs that
host) and this script makes the socket owner-only.

**A replica that dies under a request costs the caller nothing when another one is up.**
Measured on this 2-core box (two replicas, four clients, one replica SIGKILLed, five runs):
with Ray's template as it is, 2–7 requests failed per kill — the requests in flight on the
dead replica came back as "server disconnected without a response" or as HAProxy's 502/503
(served as 500). HAProxy can replay such a request on another replica (its L7 retries) only
when it still holds the whole request: ``option http-buffer-request`` keeps it; with Serve's
``http-reuse always`` a failure on a reused server connection is answered by closing the
client's connection instead (HAProxy leaves the replay to the client, as a browser would), so
server connections are reused the ``safe`` way; and ``retry-on`` adds ``empty-response`` (the
server closed without answering) and ``junk-response`` to Serve's ``conn-failure``
(``RETRY_ON``, set through Ray's own ``RAY_SERVE_HAPROXY_RETRY_ON``). With these, 0 requests
failed over 8 kills. A replayed request is one that may have run on the dead replica:
inference is idempotent, so only inference routes are replayed (``INFERENCE_PATH``: predict,
infer and explain, V1 and V2, under any route prefix); admin actions, async submissions and
labels are never replayed (``http-request disable-l7-retry``). Replays are bounded by
HAProxy's ``retries`` (3, Ray leaves it unset), each on another replica (Serve's
``option redispatch 1``). A failed connection (nothing was sent) is retried for every route,
as Serve already does.
"""

from __future__ import annotations

# Serve's default is "conn-failure" (nothing reached the replica: safe to retry anything).
RETRY_ON = "conn-failure empty-response junk-response"
RETRY_ON_ENV = "RAY_SERVE_HAPROXY_RETRY_ON"

# The inference routes of serve/routes.py that may be replayed on another replica, as HAProxy
# matches them (a POST's path ends so); the async variants end in -async and do not match.
# It starts with "/", not "(": HAProxy warns that a pattern starting with "(" looks like a typo.
INFERENCE_PATH = (
    r"/(v1/models/[^/]+:(predict|explain)|v2/models/[^/]+(/versions/[^/]+)?/(infer|explain))$"
)
_NO_REPLAY = f"http-request disable-l7-retry if !METH_POST || !{{ path_reg {INFERENCE_PATH} }}"

# One edit per line (GNU sed, -E). The frontend's name is Ray 2.60's template's.
SED_SCRIPT = "\n".join(
    [
        r"s/^([[:space:]]*stats socket [^ ]+ mode )666 /\1600 /",
        r"s/^([[:space:]]*)http-reuse always/\1http-reuse safe/",
        r"/^[[:space:]]*option abortonclose/a\    option http-buffer-request",
        rf"/^frontend http_frontend/a\    {_NO_REPLAY}",
        "",
    ]
)
