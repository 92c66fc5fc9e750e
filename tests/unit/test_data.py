import numpy as np
import pandas as pd
import pytest

from ray_apps.data import load_dataset
from ray_apps.errors import DataError
from ray_apps.spec import DatasetSpec


def test_bundled_split_is_seeded_and_disjoint():
    a = load_dataset(DatasetSpec(source="sklearn:breast_cancer", split={"seed": 3}))
    b = load_dataset(DatasetSpec(source="sklearn:breast_cancer", split={"seed": 3}))
    c = load_dataset(DatasetSpec(source="sklearn:breast_cancer", split={"seed": 4}))
    assert a.task == "classification" and a.classes == [0, 1]
    assert len(a.train) + len(a.valid) + len(a.test) == 569
    pd.testing.assert_frame_equal(a.test, b.test)
    assert not a.test.equals(c.test)
    assert a.fingerprint == c.fingerprint  # same table, different split
    assert "mean_radius" in a.feature_names


def test_regression_is_inferred_from_float_labels(tmp_path):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x1": rng.normal(size=50), "x2": rng.normal(size=50)})
    frame["y"] = frame.x1 * 2.5 + 0.1
    frame.to_parquet(tmp_path / "d.parquet")
    data = load_dataset(DatasetSpec(source=str(tmp_path / "d.parquet"), label="y"))
    assert data.task == "regression" and data.classes == []
    assert [f.name for f in data.features] == ["x1", "x2"]
    assert data.features[0].dtype == "float64"


@pytest.mark.parametrize(
    ("content", "spec", "message"),
    [
        (None, {"source": "/nonexistent/x.csv", "label": "y"}, "does not exist"),
        ("", {"source": "{p}", "label": "y"}, "empty"),
        ("a,y\n", {"source": "{p}", "label": "y"}, "no rows"),
        ("a,b\n1,2\n3,4\n", {"source": "{p}", "label": "y"}, "label column 'y' is not in"),
        ("a,y\nx,1\nz,0\n", {"source": "{p}", "label": "y"}, "non-numeric feature columns"),
        ("a,y\n1,1\n", {"source": "{p}"}, "dataset.label is required"),
        ("a,y\n1,1\n2,0\n", {"source": "{p}", "label": "y", "features": ["q"]}, "['q']"),
        (None, {"source": "sklearn:nope"}, "sklearn:breast_cancer"),
        (None, {"source": "data.json", "label": "y"}, "unknown format"),
    ],
)
def test_bad_data_gets_a_clear_error(tmp_path, content, spec, message):
    path = tmp_path / "d.csv"
    if content is not None:
        path.write_text(content)
    spec = {k: v.format(p=path) if isinstance(v, str) else v for k, v in spec.items()}
    with pytest.raises(DataError) as info:
        load_dataset(DatasetSpec(**spec))
    assert message in str(info.value)
