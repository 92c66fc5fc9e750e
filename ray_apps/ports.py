"""Free TCP ports on 127.0.0.1, and the ports a Ray node opens.

Every server raymaker starts on this machine (a local Ray head, its HAProxy admin ports, the
dev object store) takes ports the kernel hands out, so that nothing clashes with another Ray
or another copy of raymaker on the same host.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Container

# Ports every Ray node opens (``ray start`` flags), and those only a head opens.
RAY_NODE_PORT_FLAGS = (
    "--node-manager-port",
    "--object-manager-port",
    "--metrics-export-port",
    "--runtime-env-agent-port",
    "--dashboard-agent-listen-port",
    "--dashboard-agent-grpc-port",
)
RAY_HEAD_PORT_FLAGS = ("--port", "--dashboard-port", "--ray-client-server-port")


def free_port() -> int:
    """A port free on 127.0.0.1 now."""
    return free_ports(1)[0]


def free_ports(count: int, avoid: Container[int] = ()) -> list[int]:
    """``count`` distinct ports free on 127.0.0.1 now, none in ``avoid``.

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
