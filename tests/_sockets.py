"""Which addresses a port listens on, read from the kernel's socket tables (Linux)."""

from __future__ import annotations

from ray_apps.ports import free_port, free_ports

__all__ = ["LOOPBACK", "free_port", "free_ports", "listening"]

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
