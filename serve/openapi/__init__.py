"""The endpoint's OpenAPI document, served at ``GET /openapi.json`` (no key, like KServe's and
MLServer's documents): every route of ``serve.routes`` with its parameters, request bodies,
answers (success and errors, each error ``{"error": "..."}``) and the credential it takes.

    operations.py   one row per (method, path): the route name, body, answer, errors
    schemas.py      the bodies' and answers' JSON schemas; V2's keep the protocol's names
    document.py     assembles them, security from the route's role (``serve.routes.ROLES``)
    upstream/       the Open Inference Protocol's own document, vendored, that ours is
                    checked against (``tests/unit/serve/test_openapi.py``)
"""

from serve.openapi.document import document

__all__ = ["document"]
