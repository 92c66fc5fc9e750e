"""A webhook receiver on 127.0.0.1 for the alert tests: records what it is sent."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from _sockets import free_port

TOKEN = "s3cr3t-token-in-the-path"


class Hook:
    """A webhook receiver on 127.0.0.1 that answers the statuses it is given, in order."""

    def __init__(self, statuses):
        self.statuses, self.received = list(statuses), []
        self.raw = []  # (headers, body bytes) of each POST: for signature checks
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                hook.received.append((self.path, json.loads(body)))
                hook.raw.append((dict(self.headers), body))
                status = hook.statuses.pop(0) if hook.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks/{TOKEN}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()
