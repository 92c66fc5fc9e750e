"""A local HTTP server on 127.0.0.1 that answers POSTs with given statuses and records them."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Receiver:
    """Answers the n-th POST with ``statuses[n]`` (then 200); ``got`` holds (headers, body)."""

    def __init__(self, statuses=()):
        self.statuses, self.got = list(statuses), []
        rx = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["content-length"]))
                rx.got.append((dict(self.headers), body))
                self.send_response(rx.statuses.pop(0) if rx.statuses else 200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/done"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
