"""``raymaker traffic …`` and ``raymaker rollout …`` in this process, against a real store."""

import json

import pytest

from ray_apps.cli import main
from serve.traffic.store import TrafficStore
from serve.traffic.table import TrafficTable, VariantTarget

TABLE = TrafficTable(
    endpoint="ep",
    deploy_id="d1",
    variants=(
        VariantTarget("prod", "fair", 4, "ep"),
        VariantTarget("cand", "fair", 5, "ep--cand"),
        VariantTarget("dark", "fair", 6, "ep--dark"),
    ),
    weights={"prod": 90.0, "cand": 10.0, "dark": 0.0},
)


@pytest.fixture()
def url(tmp_path):
    url = f"sqlite:///{tmp_path / 'traffic.db'}"
    store = TrafficStore(url)
    store.put("ep", TABLE, by="deploy", spec={"name": "ep"})
    store.put("one", None, by="deploy", spec={"name": "one", "models": [{"name": "m"}]})
    return url


def run(capsys, *argv):
    """(exit code, stdout, stderr) of ``raymaker *argv``."""
    code = 0
    try:
        main(list(argv))
    except SystemExit as exited:
        code = exited.code
    out = capsys.readouterr()
    return code, out.out, out.err


def refused(capsys, *argv) -> str:
    code, _, err = run(capsys, *argv)
    assert code == 2, err
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err
    return err


def test_show(capsys, url):
    code, out, _ = run(capsys, "traffic", "show", "ep", "--store-url", url)
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["prod", "fair:4", "90.00%", "(endpoint", "replicas)"]
    assert lines[1].split() == ["cand", "fair:5", "10.00%", "(app", "ep--cand)"]
    assert lines[2].split()[:3] == ["dark", "fair:6", "0.00%"]


def test_show_as_json(capsys, url):
    code, out, _ = run(capsys, "traffic", "show", "ep", "--store-url", url, "--json-out")
    assert code == 0
    data = json.loads(out)
    assert data["shares"] == {"prod": 90.0, "cand": 10.0, "dark": 0.0}
    assert data["deploy_id"] == "d1"


def test_the_default_store_is_under_raymaker_home(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("RAYMAKER_HOME", str(tmp_path / "home"))
    TrafficStore(f"sqlite:///{tmp_path / 'home' / 'traffic.db'}").put("ep", TABLE, by="deploy")
    code, out, _ = run(capsys, "traffic", "show", "ep")
    assert code == 0 and "90.00%" in out


def test_set_weights(capsys, url):
    code, out, _ = run(capsys, "traffic", "set", "ep", "prod=50", "cand=50", "--store-url", url)
    assert code == 0 and "50.00%" in out
    stored = TrafficStore(url).get("ep")
    assert dict(stored.table.weights) == {"prod": 50.0, "cand": 50.0, "dark": 0.0}
    assert stored.table.generation == 1 and stored.updated_by.startswith("cli ")
    assert stored.spec == {"name": "ep"}


def test_shadow_on_and_off(capsys, url):
    code, out, _ = run(
        capsys, "traffic", "shadow", "ep", "dark", "--percent", "40", "--store-url", url
    )
    assert code == 0 and "shadow 40%" in out
    assert TrafficStore(url).get("ep").table.shadow_percent == 40.0
    code, out, _ = run(capsys, "traffic", "shadow", "ep", "--off", "--store-url", url)
    assert code == 0 and "shadow" not in out
    assert TrafficStore(url).get("ep").table.shadow is None


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["set", "ep", "prod=abc"], "'prod=abc' is not VARIANT=WEIGHT; write e.g. prod=90 cand=10"),
        (["set", "ep", "beta=5"], "weights name ['beta'], not variants of endpoint ep"),
        (["set", "ep", "prod=-1"], "weight of 'prod' is -1; weights are ≥ 0"),
        (["set", "ep", "prod=0", "cand=0"], "the weights are all 0"),
        (["set", "one", "prod=1"], "endpoint 'one' has no variants in sqlite:///"),
        (["set", "nope", "prod=1"], "endpoint 'nope' has no variants"),
        (["show", "one"], "endpoint 'one' has no variants"),
        (["shadow", "ep", "cand"], "'cand' has weight 10; set it to 0 first"),
        (["shadow", "ep", "prod"], "'prod' answers callers"),
        (["shadow", "ep", "zeta"], "no variant 'zeta' on endpoint ep"),
        (["shadow", "ep"], "give a VARIANT to mirror to, or --off to stop mirroring"),
        (["shadow", "ep", "dark", "--off"], "give a VARIANT to mirror to, or --off"),
        (["shadow", "ep", "dark", "--percent", "0"], "shadow percent 0 must be in (0, 100]"),
    ],
)
def test_bad_traffic_input_exits_2_with_one_line(capsys, url, argv, message):
    err = refused(capsys, "traffic", *argv, "--store-url", url)
    assert message in err
    assert TrafficStore(url).get("ep").table == TABLE  # nothing changed


def test_rollout_start_needs_ray_address(capsys, url, monkeypatch):
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    err = refused(capsys, "rollout", "start", "ep", "--candidate", "fair:5", "--store-url", url)
    assert "a rollout deploys to the endpoint's Ray: set RAY_ADDRESS" in err
    assert TrafficStore(url).get_rollout("ep") is None


def test_rollout_resume_and_abort_need_ray_address(capsys, url, monkeypatch):
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    for command in ("resume", "abort"):
        assert "set RAY_ADDRESS" in refused(capsys, "rollout", command, "ep", "--store-url", url)


def test_rollout_start_input_errors(capsys, url, tmp_path):
    err = refused(capsys, "rollout", "start", "ep", "--store-url", url)
    assert "give the version to roll out: --candidate <model>:<version>" in err
    err = refused(capsys, "rollout", "start", "ep", "--candidate", "fair:5", "--steps", "10,x")
    assert "--steps '10,x': write percents like 10,50,100" in err
    err = refused(capsys, "rollout", "start", "ep", "--config", str(tmp_path / "no.yaml"))
    assert "does not exist" in err


RECORD = {
    "spec": {"endpoint": "ep", "candidate": "fair:5"},
    "state": {"status": "running", "reason": "baking at 10%"},
    "history": [{"action": "start", "percent": 10.0, "reason": "baking at 10%"}],
}


def test_rollout_status(capsys, url):
    err = refused(capsys, "rollout", "status", "ep", "--store-url", url)
    assert "endpoint 'ep' has no rollout; start one: raymaker rollout start ep" in err
    TrafficStore(url).put_rollout("ep", RECORD)
    code, out, _ = run(capsys, "rollout", "status", "ep", "--store-url", url)
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "fair:5: running — baking at 10%"
    assert len(lines) == 2 and lines[1].endswith("10%  baking at 10%")


def test_rollout_status_names_each_decisions_action(capsys, url):
    TrafficStore(url).put_rollout("ep", RECORD)
    _, out, _ = run(capsys, "rollout", "status", "ep", "--store-url", url)
    assert out.splitlines()[1] == "  [start] 10%  baking at 10%"
