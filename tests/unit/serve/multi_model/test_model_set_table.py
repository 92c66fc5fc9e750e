"""ModelSetTable with listings and loads of our own: what a registry read changes, prewarm,
and batching predictors that never outlive their model's stay in the cache."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest

from ray_apps.errors import NotFoundError
from serve.multi_model import RegistryEntry, parse_model_set
from serve.multi_model.table import ModelSetTable


def _listing(**statuses: str) -> list[RegistryEntry]:
    """store_1="Approved" → store-1 version 1; "Approved,Approved" → versions 1 and 2."""
    return [
        RegistryEntry(name.replace("_", "-"), v, status)
        for name, given in statuses.items()
        for v, status in enumerate(given.split(","), start=1)
    ]


def _table(batcher=None, **spec) -> ModelSetTable:
    def load(name, version):
        return SimpleNamespace(name=name, version=version)

    options = parse_model_set({"prefix": "store-", "max_models": 2, **spec})
    return ModelSetTable(options, None, load=load, batcher=batcher, footprint=lambda m: 1)


def test_a_registry_read_says_what_changed_and_unloads_what_left():
    table = _table()
    assert not table.ready
    table.start(_listing(store_1="Approved", store_2="Approved", store_3="Pending"))
    assert table.ready and table.servable == {"store-1": 1, "store-2": 1}
    asyncio.run(table.resolve("store-1", None))
    asyncio.run(table.resolve("store-2", "1"))
    change = table.refresh(_listing(store_1="Approved,Approved", store_2="Rejected"))
    assert (change.added, change.removed) == (["store-1"], ["store-2"])  # store-1: version 2
    assert change.unloaded == ["store-1", "store-2"] and table.cache.loaded() == {}
    with pytest.raises(NotFoundError, match="not an Approved model"):
        asyncio.run(table.resolve("store-2", None))
    assert asyncio.run(table.status("store-1", None)) == ("store-1", 2, "Approved")


def test_prewarm_loads_servable_models_and_names_the_others():
    table = _table(prewarm=["store-1", "store-9"])
    failed = table.start(_listing(store_1="Approved"))
    assert table.cache.loaded() == {"store-1": 1}
    assert list(failed) == ["store-9"] and "no Approved version" in str(failed["store-9"])


def test_batching_predictors_are_kept_for_loaded_models_only():
    made = []

    def batcher(model):
        made.append(model.name)
        return lambda x: x

    table = _table(batcher)
    table.start(_listing(store_1="Approved", store_2="Approved", store_3="Approved"))
    for name in ("store-1", "store-2", "store-1", "store-3"):
        model = asyncio.run(table.resolve(name, None))
        table.predictor(model)
    assert made == ["store-1", "store-2", "store-3"]  # one each, reused while loaded
    assert sorted(table._batched) == [("store-1", 1), ("store-3", 1)]  # store-2 was evicted
