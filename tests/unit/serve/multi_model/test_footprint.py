"""Footprints of real small models against sizes known another way."""

import sys

import numpy as np
import pytest
from _factories import torch_artifact, xgboost_artifact

from serve.multi_model import model_bytes
from serve.served_model import ServedModel

OVERHEAD = 64 << 10  # Python objects around the data: module dicts, estimator attributes


def test_numpy_arrays_count_their_bytes_once_however_many_views():
    a = np.zeros(1000)
    assert model_bytes(a) == 8000
    both = [a, a[10:], a.reshape(10, 100)]
    assert model_bytes(both) == 8000 + sys.getsizeof(both)
    assert model_bytes({"w": np.ones((3, 4), dtype=np.float32)}) > 48


def test_an_object_array_counts_what_it_points_to():
    big = np.zeros(10_000)
    holder = np.empty(1, dtype=object)
    holder[0] = big
    assert model_bytes(holder) >= 80_000 + holder.nbytes


def test_torch_module_counts_parameters_and_buffers():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    module = torch.nn.Sequential(
        torch.nn.Linear(64, 128), torch.nn.BatchNorm1d(128), torch.nn.Linear(128, 10)
    )
    tensors = [*module.parameters(), *module.buffers()]
    data = sum(t.element_size() * t.nelement() for t in tensors)
    assert data <= model_bytes(module) <= data + OVERHEAD


def test_torch_tied_weights_count_once():
    torch = pytest.importorskip("torch")
    first, second = torch.nn.Linear(256, 256, bias=False), torch.nn.Linear(256, 256, bias=False)
    second.weight = first.weight
    weight = 256 * 256 * 4
    assert weight <= model_bytes([first, second]) < 2 * weight


def test_xgboost_booster_counts_its_trees():
    xgb = pytest.importorskip("xgboost")
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(500, 5)), rng.integers(0, 2, 500)
    booster = xgb.train({"max_depth": 4, "nthread": 1}, xgb.DMatrix(x, label=y), 20)
    raw = len(booster.save_raw())
    assert model_bytes(booster) == raw
    wrapper = xgb.XGBClassifier(n_estimators=20, max_depth=4, n_jobs=1).fit(x, y)
    raw = len(wrapper.get_booster().save_raw())
    assert raw <= model_bytes(wrapper) <= raw + OVERHEAD


def test_sklearn_estimators_count_fitted_arrays_and_tree_nodes():
    from sklearn.datasets import load_iris
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression

    x, y = load_iris(return_X_y=True)
    linear = LogisticRegression(max_iter=500).fit(x, y)
    arrays = linear.coef_.nbytes + linear.intercept_.nbytes + linear.classes_.nbytes
    assert arrays <= model_bytes(linear) <= arrays + OVERHEAD
    forest = RandomForestClassifier(n_estimators=10, random_state=0).fit(x, y)
    states = [tree.tree_.__getstate__() for tree in forest.estimators_]
    nodes = sum(s["nodes"].nbytes + s["values"].nbytes for s in states)
    assert nodes <= model_bytes(forest) <= nodes + 10 * OVERHEAD


def test_pandas_objects_count_deep_memory():
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"x": np.arange(100.0), "name": ["some text"] * 100})
    assert model_bytes(frame) == frame.memory_usage(deep=True).sum()


@pytest.mark.parametrize("kind", ["xgboost", "torch"])
def test_a_served_model_loaded_from_its_artifact(kind, tmp_path):
    from ray_apps.artifact import load_model

    if kind == "xgboost":
        model = load_model(xgboost_artifact(tmp_path / "a", rounds=30)).prepare_for_serving()
        data = len(model.predictor.save_raw())
    else:
        model = load_model(torch_artifact(tmp_path / "a", hidden=64))
        data = sum(p.element_size() * p.nelement() for p in model.predictor.parameters())
    served = ServedModel("m", 1, "Approved", model)
    assert data <= model_bytes(served) <= data + OVERHEAD


def test_classes_modules_and_functions_are_not_counted():
    class Holder:
        def __init__(self):
            self.kind = np  # a module: shared by every model
            self.fn = model_bytes
            self.cls = dict
            self.data = np.zeros(10)

    holder = Holder()
    measured = model_bytes(holder)
    assert 80 <= measured <= 80 + OVERHEAD // 16
