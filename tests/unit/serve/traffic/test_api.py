"""The notebook door to traffic: set_weights / set_shadow / traffic_table on a real store."""

import pytest

from ray_apps.errors import NotFoundError, SpecError
from serve import set_shadow, set_weights, traffic_table
from serve.traffic.store import TrafficStore
from serve.traffic.table import TrafficTable, VariantTarget


@pytest.fixture()
def url(tmp_path):
    url = f"sqlite:///{tmp_path / 'traffic.db'}"
    table = TrafficTable(
        "ep",
        "d1",
        (VariantTarget("prod", "m", 1, "ep"), VariantTarget("cand", "m", 2, "ep--cand")),
        {"prod": 1.0, "cand": 0.0},
    )
    TrafficStore(url).put("ep", table, by="deploy")
    return url


def test_weights_and_shadow_change_the_stored_table(url):
    assert set_weights("ep", {"prod": 90, "cand": 10}, store_url=url).shares() == {
        "prod": 90.0,
        "cand": 10.0,
    }
    with pytest.raises(SpecError, match="weight 10"):
        set_shadow("ep", "cand", 50, store_url=url)  # a shadow never answers callers
    set_weights("ep", {"cand": 0}, store_url=url)
    set_shadow("ep", "cand", 50, store_url=url)
    table = traffic_table("ep", store_url=url)
    assert (table.shadow, table.shadow_percent, table.generation) == ("cand", 50.0, 3)
    assert set_shadow("ep", None, store_url=url).shadow is None


def test_an_endpoint_without_variants_says_so(url):
    with pytest.raises(NotFoundError, match="no variants"):
        traffic_table("other", store_url=url)
    with pytest.raises(NotFoundError):
        set_weights("other", {"a": 1}, store_url=url)
