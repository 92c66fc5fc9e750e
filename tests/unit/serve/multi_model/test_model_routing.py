"""Model-aware routing on the real HAProxy binary, with the config Ray Serve 2.60 renders.

Two stand-in replicas (HTTP servers in this process that say who they are and which model
header reached them) behind a model-set application ``shop`` and an ordinary one ``plain``;
HAProxy runs through raymaker's wrapper with the edits ``serve.deploy`` records for ``shop``.
No Ray cluster: the routing is HAProxy's alone (Serve's direct ingress hands it the replicas).
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from _serve_helpers import wait_for
from _sockets import free_ports

from serve.ingress import haproxy_binary, write_admin_loopback_wrapper
from serve.multi_model.routing import HEADER, backend_name, mark_model_set, model_set_apps

HOT = "hot"
SLOW_S = 0.05  # the hot model's service time: concurrent clients queue on its replica


def _replica(tag: str) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            if f"/{HOT}" in self.path:
                time.sleep(SLOW_S)
            body = json.dumps({"replica": tag, "model": self.headers.get(HEADER)}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _answer

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def ingress(tmp_path):
    """HAProxy's base URL, with ``shop`` recorded as a model set and ``plain`` not."""
    from ray.serve._private.haproxy import BackendConfig, HAProxyApi, HAProxyConfig, ServerConfig
    from ray.serve.config import HTTPOptions

    replicas = [_replica("a"), _replica("b")]
    http, stats, metrics = free_ports(3)

    def servers(app: str) -> list[ServerConfig]:
        return [
            ServerConfig(f"SERVE_REPLICA--{app}-endpoint-{s.server_address[1]}", *s.server_address)
            for s in replicas
        ]

    backends = {
        app: BackendConfig(
            name=backend_name(app), path_prefix=f"/{app}", app_name=app, servers=servers(app)
        )
        for app in ("shop", "plain")
    }
    config = HAProxyConfig(
        socket_path=str(tmp_path / "admin.sock"),
        server_state_base=str(tmp_path),
        server_state_file=str(tmp_path / "server-state"),
        stats_port=stats,
        metrics_port=metrics,
        http_options=HTTPOptions(host="127.0.0.1", port=http),
    )
    api = HAProxyApi(
        config, config_file_path=str(tmp_path / "haproxy.cfg"), backend_configs=backends
    )
    api._generate_config_file_internal()
    assert f"backend {backend_name('shop')}\n" in (tmp_path / "haproxy.cfg").read_text()

    folder = tmp_path / "bin"
    mark_model_set(folder, "shop", model_set=True)
    mark_model_set(folder, "plain", model_set=False)
    wrapper = write_admin_loopback_wrapper(folder)
    env = {**os.environ, "RAYMAKER_HAPROXY_BINARY": haproxy_binary()}
    proc = subprocess.Popen(
        [str(wrapper), "-db", "-f", str(tmp_path / "haproxy.cfg")],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{http}"
    try:
        with httpx.Client(base_url=url, timeout=10) as client:

            def both_up() -> bool:
                assert proc.poll() is None, proc.stderr.read().decode()
                try:
                    seen = {client.get("/plain/admin/models").json()["replica"] for _ in range(4)}
                except httpx.HTTPError:
                    return False
                return seen == {"a", "b"}

            wait_for(both_up, 20, "HAProxy up with both replicas")
            yield client, tmp_path / "haproxy.cfg"
    finally:
        proc.kill()
        proc.wait()
        for server in replicas:
            server.shutdown()
            server.server_close()


def _where(client: httpx.Client, path: str, **kwargs) -> dict:
    response = client.post(path, json={"instances": [[1.0]]}, **kwargs)
    assert response.status_code == 200, response.text
    return response.json()


def test_each_model_goes_to_one_replica_and_the_models_spread_over_both(ingress):
    client, _ = ingress
    home = {}
    for i in range(24):
        name = f"store-{i}"
        seen = {_where(client, f"/shop/v2/models/{name}/infer")["replica"] for _ in range(3)}
        seen |= {_where(client, f"/shop/v1/models/{name}:predict")["replica"]}
        seen |= {_where(client, f"/shop/v2/models/{name}/versions/2/infer")["replica"]}
        assert len(seen) == 1, (name, seen)  # V1, V2 and a pinned version: the same replica
        home[name] = seen.pop()
    assert set(home.values()) == {"a", "b"}, home  # names hash over both replicas


def test_the_header_comes_from_the_path_never_from_the_client(ingress):
    client, _ = ingress
    forged = {HEADER: "store-1"}
    assert _where(client, "/shop/v1/models/store-7:predict", headers=forged)["model"] == "store-7"
    # A route naming no model carries no model header, and is balanced over both replicas.
    admin = [_where(client, "/shop/admin/models", headers=forged) for _ in range(6)]
    assert {r["model"] for r in admin} == {None}
    assert {r["replica"] for r in admin} == {"a", "b"}


def test_a_hot_model_spills_onto_the_other_replica_under_load(ingress):
    client, _ = ingress
    path = f"/shop/v2/models/{HOT}/infer"
    alone = {_where(client, path)["replica"] for _ in range(5)}
    assert len(alone) == 1  # one client at a time: it stays home

    def burst(_: int) -> list[str]:
        with httpx.Client(base_url=str(client.base_url), timeout=10) as own:
            return [_where(own, path)["replica"] for _ in range(10)]

    with ThreadPoolExecutor(8) as pool:
        served = [r for rs in pool.map(burst, range(8)) for r in rs]
    # Eight clients queue on the home replica: bounded-load hashing sends the excess to the
    # next one instead of pinning the model to one replica (ray#48741).
    counts = {r: served.count(r) for r in ("a", "b")}
    assert min(counts.values()) > 0, counts
    assert counts[alone.pop()] >= len(served) // 2, counts  # home still takes its share


def test_an_ordinary_endpoint_is_balanced_as_serve_balances_it(ingress):
    client, config = ingress
    seen = [_where(client, "/plain/v2/models/store-1/infer") for _ in range(6)]
    assert {r["replica"] for r in seen} == {"a", "b"}  # one model, both replicas
    assert {r["model"] for r in seen} == {None}
    plain = config.read_text().split(f"backend {backend_name('plain')}\n", 1)[1]
    assert "balance hdr" not in plain.split("\nbackend ", 1)[0]


def test_undeploying_a_set_drops_its_edits(tmp_path):
    folder = tmp_path / "bin"
    mark_model_set(folder, "shop", model_set=True)
    mark_model_set(folder, "other", model_set=True)
    mark_model_set(folder, "shop", model_set=False)
    assert model_set_apps(folder) == ["other"]
    script = (folder / "haproxy-model-routing.sed").read_text()
    assert "http\\-other" in script and "shop" not in script
    assert [p.name for p in folder.iterdir() if p.name.startswith(".")] == []
