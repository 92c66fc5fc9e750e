"""GET/POST /admin/traffic through a real VariantRouter and store (no Ray: nothing forwarded)."""

import asyncio
import json

import pytest

from ray_apps.errors import NotFoundError, SpecError
from serve import traffic_routes
from serve.traffic.router import VariantRouter
from serve.traffic.store import TrafficStore
from serve.traffic.table import TrafficTable, VariantTarget


def deployed(deploy_id="d1", weights=None) -> TrafficTable:
    return TrafficTable(
        endpoint="ep",
        deploy_id=deploy_id,
        variants=(
            VariantTarget("prod", "fair", 4, "ep"),
            VariantTarget("cand", "fair", 5, "ep--cand"),
            VariantTarget("dark", "fair", 6, "ep--dark"),
        ),
        weights=weights or {"prod": 90.0, "cand": 10.0, "dark": 0.0},
    )


@pytest.fixture()
def url(tmp_path):
    return f"sqlite:///{tmp_path / 'traffic.db'}"


@pytest.fixture()
def router(url):
    return VariantRouter(deployed(), "prod", store_url=url, replica="t")


def change(router, body) -> dict:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return asyncio.run(traffic_routes.change(router, raw))


def test_show_describes_the_table_with_shares(router):
    shown = traffic_routes.show(router)
    assert shown["shares"] == {"prod": 90.0, "cand": 10.0, "dark": 0.0}
    assert shown["deploy_id"] == "d1" and [v["app"] for v in shown["variants"]] == [
        "ep",
        "ep--cand",
        "ep--dark",
    ]


def test_an_endpoint_without_variants_has_no_traffic_routes():
    with pytest.raises(NotFoundError, match="serves one version and has no variants; deploy it"):
        traffic_routes.show(None)
    with pytest.raises(NotFoundError, match="has no variants"):
        asyncio.run(traffic_routes.change(None, b'{"weights": {"prod": 1}}'))


def test_a_router_without_a_store_cannot_change():
    router = VariantRouter(deployed(), "prod", store_url=None, replica="t")
    with pytest.raises(NotFoundError, match="no traffic store; redeploy it with variants"):
        change(router, {"weights": {"cand": 20}})


def test_weights_change_the_store_and_this_router_at_once(router, url):
    out = change(router, {"weights": {"cand": 30}})
    assert out["shares"]["cand"] == 25.0 and out["generation"] == 1
    assert router.table.weights["cand"] == 30.0 and router.deployed.weights["cand"] == 10.0
    stored = TrafficStore(url).get("ep")
    assert stored.table == router.table and stored.updated_by == "admin-route"
    again = change(router, {"weights": {"prod": 30}})
    assert again["shares"] == {"prod": 50.0, "cand": 50.0, "dark": 0.0}
    assert again["generation"] == 2


def test_shadow_forms(router):
    out = change(router, {"shadow": {"variant": "dark", "percent": 50}})
    assert (out["shadow"], out["shadow_percent"]) == ("dark", 50.0)
    assert router.table.shadow == "dark"
    assert change(router, {"shadow": {"variant": "dark"}})["shadow_percent"] == 100.0
    assert change(router, {"shadow": None})["shadow"] is None
    both = change(router, {"weights": {"cand": 0, "prod": 1}, "shadow": {"variant": "cand"}})
    assert both["shadow"] == "cand" and both["shares"]["prod"] == 100.0


@pytest.mark.parametrize("body", [b"{not json", b"\xff"])
def test_a_body_that_is_not_json(router, body):
    with pytest.raises(SpecError, match=r"the body is not JSON .*; send \{\"weights\""):
        change(router, body)


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"[]",
        b"null",
        b'"weights"',
        b"{}",
        b'{"weight": {"prod": 1}}',
        b'{"weights": {}, "x": 1}',
    ],
)
def test_a_body_with_wrong_keys(router, body):
    with pytest.raises(SpecError, match=r'send \{"weights": \{"<variant>": <weight>'):
        change(router, body)


@pytest.mark.parametrize("weights", [[1, 2], "prod=1", 5, None])
def test_weights_not_an_object(router, weights):
    with pytest.raises(SpecError, match='"weights" must be an object'):
        change(router, {"weights": weights})


@pytest.mark.parametrize("shadow", ["dark", ["dark"], {"percent": 5}, {"variant": 3}, 1])
def test_bad_shadow_forms(router, shadow):
    with pytest.raises(SpecError, match='"shadow" must be \\{"variant": "<name>"'):
        change(router, {"shadow": shadow})


@pytest.mark.parametrize("percent", ["abc", None])
def test_a_shadow_percent_that_is_not_a_number(router, percent):
    with pytest.raises(SpecError):
        change(router, {"shadow": {"variant": "dark", "percent": percent}})


def test_the_tables_own_rules_come_through_and_change_nothing(router, url):
    with pytest.raises(SpecError, match=r"weights name \['nope'\]"):
        change(router, {"weights": {"nope": 1}})
    with pytest.raises(SpecError, match="'cand' has weight 10; set it to 0 first"):
        change(router, {"shadow": {"variant": "cand"}})
    with pytest.raises(SpecError, match="shadow percent 0 must be in"):
        change(router, {"shadow": {"variant": "dark", "percent": 0}})
    assert router.table == deployed()
    assert TrafficStore(url).get("ep").table == deployed()


def test_the_row_is_created_from_the_deployed_table_keeping_a_recorded_spec(router, url):
    store = TrafficStore(url)
    store.put("ep", None, by="deploy", spec={"name": "ep", "models": [{"name": "fair"}]})
    change(router, {"weights": {"cand": 20}})
    stored = store.get("ep")
    assert stored.table.deploy_id == "d1" and stored.table.weights["cand"] == 20.0
    assert stored.spec == {"name": "ep", "models": [{"name": "fair"}]}


def test_a_stale_row_of_another_deploy_is_ignored(router, url):
    store = TrafficStore(url)
    stale = deployed("old", {"prod": 1.0, "cand": 99.0, "dark": 0.0}).with_shadow("dark", 5)
    store.put("ep", stale, by="deploy")
    out = change(router, {"weights": {"prod": 80}})
    # The base is the router's deployed table: the old deploy's 99 and shadow are gone.
    assert out["deploy_id"] == "d1" and out["shadow"] is None
    assert out["weights"] == {"prod": 80.0, "cand": 10.0, "dark": 0.0}
    assert store.get("ep").table == router.table


def test_refresh_takes_the_stores_table_only_for_the_same_deploy(router, url):
    store = TrafficStore(url)
    router.refresh()
    assert router.table == deployed()  # no row yet: the deployed table
    changed = deployed().with_weights({"cand": 50})
    store.put("ep", changed, by="cli")
    router.refresh()
    assert router.table == changed
    store.put("ep", deployed("next", {"prod": 0.0, "cand": 1.0, "dark": 0.0}), by="deploy")
    router.refresh()
    assert router.table == deployed()  # another deploy's table: back to what this one carries
    store.put("ep", None, by="deploy")
    router.refresh()
    assert router.table == deployed()


def test_another_routers_change_reaches_this_one_on_refresh(url):
    one = VariantRouter(deployed(), "prod", store_url=url, replica="a")
    two = VariantRouter(deployed(), "prod", store_url=url, replica="b")
    change(one, {"weights": {"cand": 90}})
    assert two.table.weights["cand"] == 10.0
    two.refresh()
    assert two.table == one.table and two.choose({}, None).answer in ("prod", "cand")


def test_one_call_stops_a_shadow_and_gives_that_variant_weight(tmp_path):
    import asyncio
    import json

    from serve import traffic_routes
    from serve.traffic.router import VariantRouter
    from serve.traffic.table import TrafficTable, VariantTarget

    table = TrafficTable(
        "ep",
        "d",
        (VariantTarget("prod", "m", 1, "ep"), VariantTarget("cand", "m", 2, "ep--cand")),
        {"prod": 1.0, "cand": 0.0},
        shadow="cand",
        shadow_percent=100.0,
    )
    router = VariantRouter(table, "prod", store_url=f"sqlite:///{tmp_path / 't.db'}", replica="r")
    body = json.dumps({"shadow": None, "weights": {"prod": 90, "cand": 10}}).encode()
    out = asyncio.run(traffic_routes.change(router, body))
    assert out["shadow"] is None and out["shares"] == {"prod": 90.0, "cand": 10.0}
