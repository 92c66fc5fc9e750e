"""Which addresses a port listens on, read from the kernel's socket tables (Linux)."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Container

LOOPBACK = "0100007F"  # 127.0.0.1 as /proc/net/tcp writes it


def listening(port: int) -> set[str]:
    """Local addresses (hex, as in /proc/net/tcp{,6}) with a listening socket on ``port``."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            for line in f.readlines()[1:]:
                fields = line.split()
                address, hex_port = fields[1].rsplit(":", 1)
                if fields[3] == "0A" and int(hex_port, 16) == port:
                    found.add(address)
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_ports(count: int, avoid: Container[int] = ()) -> list[int]:
    """``count`` distinct free ports, none in ``avoid``.

    Each socket stays bound until all are chosen: ``free_port()`` called twice in a row may
    return the same port (a CI run gave Ray's GCS and its runtime-env agent one port, and
    ``ray start`` refused).
    """
    with contextlib.ExitStack() as stack:
        ports: list[int] = []
        while len(ports) < count:
            s = stack.enter_context(socket.socket())
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
            if port not in avoid:  # a port in avoid stays bound meanwhile: not drawn again
                ports.append(port)
        return ports
