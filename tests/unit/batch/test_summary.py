"""Summary arithmetic: rows in = rows out + rejected, per unit and for the job."""

import pytest

from ray_apps.batch import default_concurrency
from ray_apps.batch.summary import UnitStats, summarize
from ray_apps.errors import RaymakerError

MODEL = {"name": "iris", "version": 2, "manifest_sha256": "ab"}


def test_totals_and_reasons_add_up():
    stats = [
        UnitStats(0, 10, 8, {"NaN in feature 'a'": 1, "empty value in feature 'b'": 1}),
        UnitStats(1, 5, 4, {"NaN in feature 'a'": 1}),
        UnitStats(2, 7, 7),
    ]
    s = summarize(stats, duration_s=1.23456, model=MODEL, input_fingerprint="f")
    assert (s.rows_in, s.rows_out, s.rows_rejected, s.units) == (22, 19, 3, 3)
    assert s.rejected_by_reason == {"NaN in feature 'a'": 2, "empty value in feature 'b'": 1}
    assert s.duration_s == 1.235
    assert s.line() == "rows in 22 = rows out 19 + rejected 3"
    assert s.to_dict()["model"] == MODEL


def test_a_unit_that_does_not_add_up_is_an_error():
    with pytest.raises(RaymakerError, match="unit 4: 10 rows in but 8 out \\+ 1 rejected"):
        summarize([UnitStats(4, 10, 8, {"x": 1})], duration_s=0, model=MODEL, input_fingerprint="")


def test_stats_round_trip():
    s = UnitStats(3, 2, 1, {"r": 1}, "row {'source_row': 1}: r")
    assert UnitStats.from_dict(s.to_dict()) == s


@pytest.mark.parametrize(
    ("cpus", "units", "actors"), [(4, 10, 3), (16, 10, 10), (1, 5, 1), (2, 0, 1)]
)
def test_default_concurrency_leaves_a_cpu_and_never_exceeds_units(cpus, units, actors):
    assert default_concurrency(cpus, units) == actors
