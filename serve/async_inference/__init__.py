"""Asynchronous inference: requests queued in a durable store, answered by consumers.

    POST /v1/models/{name}:predict-async               V1 body → 202 {"id", "status", "status_url"}
    POST /v2/models/{name}[/versions/{v}]/infer-async  V2 body → 202, Location: the status URL
    GET  /async/requests/{id}                          queued | running | succeeded | failed
                                                       | expired (queued past queued_ttl_s)
    GET  /async/requests/{id}/result                   the real-time route's answer

Rows live in a SQL database through SQLAlchemy (SQLite under the raymaker home by default, a
``postgresql://`` URL on a cluster), payloads and results in files beside it. See
serve/README.md ("Asynchronous inference") for the contract, the settings and the callback
signature.
"""

from serve.async_inference.signing import SignatureError, sign, verify_signature
from serve.async_inference.store import AsyncStore, NewRequest

__all__ = ["AsyncStore", "NewRequest", "SignatureError", "sign", "verify_signature"]
