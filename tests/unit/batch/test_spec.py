"""The batch job spec: defaults, and errors that name the field and the fix."""

import pytest
import yaml

from ray_apps.batch import BatchJobSpec, parse_batch_spec
from ray_apps.errors import SpecError

JOB = {"name": "scores", "model": "iris", "input": "data/"}


def test_defaults():
    spec = parse_batch_spec(JOB)
    assert (spec.force, spec.keep, spec.strict, spec.id_column) == (False, "all", False, None)
    assert (spec.output, spec.concurrency, spec.num_gpus_per_actor, spec.inject) == (
        None,
        None,
        0,
        None,
    )


def test_reads_yaml_with_fault_injection(tmp_path):
    path = tmp_path / "job.yaml"
    path.write_text(yaml.safe_dump({**JOB, "model": "iris:3", "inject": {"at_unit": 1}}))
    spec = parse_batch_spec(path)
    assert isinstance(spec, BatchJobSpec)
    assert spec.model == "iris:3" and spec.inject.at_unit == 1 and spec.inject.mode == "kill"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"keep": "some"}, r"keep: Input should be 'all' or 'id' \(got 'some'\)"),
        ({"colour": 1}, "colour: unknown field; remove it or check its spelling"),
        ({"model": "iris:x"}, "model: model version 'x' in 'iris:x' must be a positive integer"),
        ({"batch_size": 0}, r"batch_size: Input should be greater than or equal to 1"),
        ({"concurrency": 0}, "concurrency: Input should be greater than or equal to 1"),
        ({"inject": {"at_unit": 1, "mode": "raise"}}, "inject.mode: Input should be 'kill'"),
    ],
)
def test_bad_fields_are_named(change, message):
    with pytest.raises(SpecError, match=message):
        parse_batch_spec({**JOB, **change})


def test_missing_input_is_named():
    with pytest.raises(SpecError, match="input: required field is missing"):
        parse_batch_spec({"name": "scores", "model": "iris"})


def test_missing_file_names_the_option(tmp_path):
    with pytest.raises(SpecError, match="pass --config"):
        parse_batch_spec(tmp_path / "absent.yaml")
