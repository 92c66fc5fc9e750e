import gc

import numpy as np
import pytest
import torch
import xgboost as xgb
from _factories import xgboost_artifact
from _fake_remote import use_fake_remote

from ray_apps.artifact import Model, ModelInfo, load_model, local_copy, write_artifact
from ray_apps.data import load_dataset
from ray_apps.errors import ArtifactIntegrityError, NotFoundError
from ray_apps.preprocess import Preprocessor
from ray_apps.spec import DatasetSpec
from ray_apps.training.models import TabularMLP


def _info(data, kind, pre):
    return ModelInfo(
        kind=kind,
        task=data.task,
        label=data.label,
        features=[{"name": f.name, "dtype": f.dtype} for f in data.features],
        classes=data.classes,
        preprocessor=pre,
        class_path="ray_apps.training.models:TabularMLP" if kind == "torch" else None,
        model_params={"hidden_sizes": [8]} if kind == "torch" else {},
    )


def _write(tmp_path, data, info, predictor):
    return write_artifact(
        tmp_path / "artifact",
        info,
        predictor,
        metrics={"accuracy": 1.0},
        job={"name": "t"},
        lineage={"run_name": "t"},
        baseline=data.train,
    )


def test_torch_artifact_round_trips(tmp_path):
    data = load_dataset(DatasetSpec(source="sklearn:iris"))
    pre = Preprocessor.fit(data.train, data.feature_names, data.label, data.classes, scale=True)
    torch.manual_seed(0)
    module = TabularMLP(4, 3, hidden_sizes=[8]).eval()
    in_memory = Model(_info(data, "torch", pre), module)
    path = _write(tmp_path, data, in_memory.info, module)

    loaded = load_model(path)
    np.testing.assert_allclose(loaded.predict_proba(data.test), in_memory.predict_proba(data.test))
    assert set(loaded.predict(data.test)) <= set(data.classes)
    assert loaded.metrics == {"accuracy": 1.0}
    rows = data.test[data.feature_names]
    # Rows as DataFrame, list of dicts, or bare arrays in feature order give the same answer.
    np.testing.assert_allclose(
        loaded.predict_proba(rows.to_dict("records")), loaded.predict_proba(rows)
    )
    np.testing.assert_allclose(loaded.predict_proba(rows.to_numpy()), loaded.predict_proba(rows))


def test_xgboost_artifact_round_trips_and_detects_tampering(tmp_path):
    data = load_dataset(DatasetSpec(source="sklearn:breast_cancer"))
    pre = Preprocessor.fit(data.train, data.feature_names, data.label, data.classes, scale=False)
    dtrain = xgb.DMatrix(
        pre.transform(data.train),
        label=pre.encode_label(data.train.target),
        feature_names=data.feature_names,
    )
    booster = xgb.train({"objective": "binary:logistic"}, dtrain, num_boost_round=5)
    in_memory = Model(_info(data, "xgboost", pre), booster)
    path = _write(tmp_path, data, in_memory.info, booster)

    loaded = load_model(path)
    np.testing.assert_allclose(loaded.predict_proba(data.test), in_memory.predict_proba(data.test))
    assert (loaded.predict(data.test) == in_memory.predict(data.test)).all()
    assert (path / "baseline.parquet").is_file()

    with (path / "model.ubj").open("ab") as f:
        f.write(b"\0")
    with pytest.raises(ArtifactIntegrityError, match="model.ubj does not match its checksum"):
        load_model(path)


def test_missing_artifact_is_not_found(tmp_path):
    with pytest.raises(NotFoundError):
        load_model(tmp_path / "nothing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(NotFoundError, match="MANIFEST.json"):
        load_model(tmp_path / "empty")


def test_a_fetched_copy_lives_as_long_as_its_model(tmp_path, monkeypatch):
    temp = use_fake_remote(monkeypatch, tmp_path)
    art = xgboost_artifact(tmp_path / "store" / "art")
    model = load_model(f"fake://{art}")
    (copy,) = temp.iterdir()
    assert copy.name.startswith("raymaker-artifact-") and model.path == copy
    assert model.metrics["accuracy"] == 0.9  # read from the copy, after loading
    del model
    gc.collect()
    assert list(temp.iterdir()) == []


def test_a_fetch_that_fails_leaves_no_folder(tmp_path, monkeypatch):
    temp = use_fake_remote(monkeypatch, tmp_path)
    with pytest.raises(NotFoundError, match="cannot fetch artifact"):
        load_model(f"fake://{tmp_path / 'nothing'}")
    art = xgboost_artifact(tmp_path / "store" / "art")
    (art / "model.ubj").write_bytes(b"changed")
    with pytest.raises(ArtifactIntegrityError):
        load_model(f"fake://{art}")
    assert list(temp.iterdir()) == []


def test_a_local_copy_goes_with_its_block(tmp_path, monkeypatch):
    temp = use_fake_remote(monkeypatch, tmp_path)
    art = xgboost_artifact(tmp_path / "store" / "art")
    with local_copy(f"fake://{art}") as local:
        assert (local / "MANIFEST.json").is_file() and local.parent == temp
    assert list(temp.iterdir()) == []
    with local_copy(str(art)) as local:  # a local folder is used in place, and kept
        assert local == art
    assert art.is_dir()
