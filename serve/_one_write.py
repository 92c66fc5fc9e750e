"""A response's head and its body leave a replica in one write.

uvicorn (the HTTP server of a Serve replica's direct ingress) writes a response's status line
and headers to the socket as soon as the app sends ``http.response.start``, and the body with
the next message. A replica SIGKILLed between the two left HAProxy with headers whose body never
came: HAProxy had already passed them on, so it could not replay the request on another replica
and the caller got a truncated answer ("received 0 bytes, expected 163"; 1 of 3 kills in
``tests/integration/serve/test_replica_loss.py``). Holding the head until the first body chunk
makes the response all or nothing: either nothing reached HAProxy (and it replays the request,
serve/haproxy_config.py) or the whole answer did.

``install()`` wraps the transport of each of uvicorn's request cycles (httptools and h11); it is
idempotent and touches nothing else. A ``100 Continue`` interim response is never held.
"""

from __future__ import annotations

from typing import Any


class _HeadWithBody:
    """A transport that holds a response head and writes it with the next write."""

    def __init__(self, transport: Any):
        self._transport = transport
        self._head = b""

    def write(self, data: bytes) -> None:
        if not self._head and _is_final_head(data):
            self._head = bytes(data)
            return
        if self._head:
            data, self._head = self._head + bytes(data), b""
        self._transport.write(data)

    def close(self) -> None:
        self._flush()
        self._transport.close()

    def _flush(self) -> None:
        if self._head:
            head, self._head = self._head, b""
            self._transport.write(head)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


def _is_final_head(data: bytes) -> bool:
    """A whole response head that is not an interim (1xx) one."""
    return data.startswith(b"HTTP/1.") and data[9:10] != b"1" and bytes(data).endswith(b"\r\n\r\n")


def install() -> None:
    """Make every new uvicorn request cycle in this process write head and body together."""
    from uvicorn.protocols.http import h11_impl, httptools_impl

    for module in (httptools_impl, h11_impl):
        cycle = module.RequestResponseCycle
        if getattr(cycle, "_raymaker_one_write", False):
            continue
        original = cycle.__init__

        def __init__(self, *args, _original=original, **kwargs):
            _original(self, *args, **kwargs)
            self.transport = _HeadWithBody(self.transport)

        cycle.__init__ = __init__
        cycle._raymaker_one_write = True
