"""Our error found again inside the error Ray hands back from a worker (text as Ray 2.60 gives)."""

from ray.exceptions import RayTaskError, UserCodeException

from ray_apps._ray_errors import raymaker_error
from ray_apps.errors import DataError, SpecError

# What a Ray Data UDF raising DataError reached the driver as (str of the RayTaskError).
REMOTE = """ray::MapWorker(MapBatches(UnitScorer)).submit() (pid=9368, ip=192.0.2.2)
  File "/app/ray_apps/batch/transform.py", line 94, in _score_batch
    raise DataError(
ray_apps.errors.DataError: id_column 'pid' is not a column of a.csv; fix id_column

The above exception was the direct cause of the following exception:

ray::MapWorker(MapBatches(UnitScorer)).submit() (pid=9368, ip=192.0.2.2)
ray.exceptions.UserCodeException: UDF failed to process a data block."""


def test_ours_from_the_remote_traceback_of_a_ray_task_error():
    cause = UserCodeException("UDF failed to process a data block.")
    wrapped = RayTaskError("submit", REMOTE, cause).as_instanceof_cause()
    found = raymaker_error(wrapped)
    assert type(found) is DataError
    assert str(found) == "id_column 'pid' is not a column of a.csv; fix id_column"


def test_ours_as_is_or_as_a_cause_and_nothing_for_other_errors():
    err = SpecError("batch_size must be >= 1")
    assert raymaker_error(err) is err
    try:
        try:
            raise err
        except SpecError as inner:
            raise RuntimeError("wrapped") from inner
    except RuntimeError as outer:
        assert raymaker_error(outer) is err
    assert raymaker_error(ValueError("no")) is None
    plain = RayTaskError("f", "Traceback ...\\nValueError: no", ValueError("no"))
    assert raymaker_error(plain) is None
