"""A response head is held until its body, so a replica killed between them sends nothing."""

import asyncio

import httpx
import pytest
import uvicorn
from _sockets import free_port

from serve._one_write import _HeadWithBody, install


class _Recorder:
    def __init__(self):
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        self.writes.append(bytes(data))

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed


def test_head_and_body_leave_in_one_write():
    raw = _Recorder()
    t = _HeadWithBody(raw)
    t.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n")
    assert raw.writes == []  # held
    t.write(b"{}")
    assert raw.writes == [b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}"]
    assert not t.is_closing()  # everything else is the transport's


def test_interim_continue_is_not_held_and_close_flushes():
    raw = _Recorder()
    t = _HeadWithBody(raw)
    t.write(b"HTTP/1.1 100 Continue\r\n\r\n")
    assert raw.writes == [b"HTTP/1.1 100 Continue\r\n\r\n"]
    t.write(b"HTTP/1.1 204 No Content\r\n\r\n")
    t.close()
    assert raw.writes[-1] == b"HTTP/1.1 204 No Content\r\n\r\n" and raw.closed


@pytest.mark.parametrize("http", ["httptools", "h11"])
def test_a_real_uvicorn_answers_whole_in_one_write(http, monkeypatch):
    install()
    install()  # idempotent
    seen: list[bytes] = []
    original = _HeadWithBody.write

    def spy(self, data):
        before = len(self._head)
        original(self, data)
        if not self._head and before:
            seen.append(b"coalesced")

    monkeypatch.setattr(_HeadWithBody, "write", spy)

    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"hello"})

    async def main() -> httpx.Response:
        port = free_port()
        config = uvicorn.Config(app, host="127.0.0.1", port=port, http=http, log_level="error")
        server = uvicorn.Server(config)
        task = asyncio.create_task(server.serve())
        while not server.started:
            await asyncio.sleep(0.01)
        async with httpx.AsyncClient() as client:
            r = await client.get(f"http://127.0.0.1:{port}/")
        server.should_exit = True
        await task
        return r

    r = asyncio.run(main())
    assert r.status_code == 200 and r.text == "hello"
    assert seen == [b"coalesced"]
