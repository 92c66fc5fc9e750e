"""A bad evaluation spec is refused with one error naming the field and the fix."""

import pytest

from ray_apps.errors import SpecError
from ray_apps.evaluation import parse_evaluation_spec

BASE = {"model": "cancer:1", "data": {"source": "test.parquet"}}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"thresholds": {"max_calibration_error": 2}}, "thresholds.max_calibration_error"),
        (
            {"thresholds": {"min": {"acc": 0.9}}},
            "thresholds.min.acc.[key]: Input should be 'accuracy'",
        ),
        (
            {"invariance": [{"feature": "id"}]},
            "invariance.0: invariance of 'id': give exactly one of values",
        ),
        ({"directional": [{"feature": "x", "delta": 0}]}, "directional.0.delta"),
        ({"robustness": {"noise": [0]}}, "robustness.noise: noise levels must be > 0"),
        ({"slices": {"colums": ["g"]}}, "slices.colums: unknown field"),
        ({"model": "cancer:0"}, "model version '0'"),
    ],
)
def test_bad_field_is_named(change, message):
    with pytest.raises(SpecError, match="evaluation job") as err:
        parse_evaluation_spec({**BASE, **change})
    assert message in str(err.value)


def test_something_to_evaluate_is_required():
    with pytest.raises(SpecError, match="name what to evaluate: model: <name:version>"):
        parse_evaluation_spec({"data": {"source": "t.csv"}})


def test_yaml_file_is_named(tmp_path):
    f = tmp_path / "e.yaml"
    f.write_text("artifact: a\ndata: {source: t.csv}\ncalibration_bins: 1\n")
    with pytest.raises(SpecError, match=rf"{f}: calibration_bins: Input should be greater"):
        parse_evaluation_spec(f)
