"""Free ports: distinct, outside what is to be avoided, and bindable on 127.0.0.1."""

import socket

from ray_apps.ports import RAY_HEAD_PORT_FLAGS, RAY_NODE_PORT_FLAGS, free_ports


def test_free_ports_are_distinct_avoid_the_given_ones_and_bind():
    avoid = set(free_ports(20))
    ports = free_ports(40, avoid=avoid)
    assert len(set(ports)) == 40 and not set(ports) & avoid
    with socket.socket() as s:
        s.bind(("127.0.0.1", ports[0]))


def test_a_head_gets_every_port_a_node_opens_and_its_own():
    flags = RAY_HEAD_PORT_FLAGS + RAY_NODE_PORT_FLAGS
    assert len(set(flags)) == len(flags) == 9
    assert all(f.startswith("--") and f.endswith("-port") or f == "--port" for f in flags)
