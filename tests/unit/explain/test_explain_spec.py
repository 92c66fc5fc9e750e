"""The explain job spec and ``raymaker explain``'s bad input: errors name the field, exit 2."""

import pytest

from ray_apps.cli import main
from ray_apps.errors import SpecError
from ray_apps.explain import parse_explain_spec


def test_defaults_and_unknown_keys():
    spec = parse_explain_spec({"model": "cancer:3", "dataset": "d.parquet"})
    assert (spec.rows, spec.background_rows, spec.permutations, spec.plot) == (1000, 50, 10, True)
    with pytest.raises(SpecError, match="rowz"):
        parse_explain_spec({"model": "cancer:3", "dataset": "d.parquet", "rowz": 5})


@pytest.mark.parametrize(
    "fields,needle",
    [
        ({"rows": 0}, "rows"),
        ({"model": "cancer", "artifact": "a"}, "names no version"),
        ({"output": "s3://bucket/x"}, "local or mounted folder"),
        ({"model": "bad name!"}, "invalid"),
    ],
)
def test_bad_fields_are_named(fields, needle):
    with pytest.raises(SpecError, match=needle):
        parse_explain_spec({"model": "cancer:3", "dataset": "d.parquet", **fields})


def test_cli_bad_input_exits_2(capsys):
    for argv in (["explain", "--dataset", "d.parquet"], ["explain", "c:1", "--rows", "0"]):
        with pytest.raises(SystemExit) as exited:
            main(argv)
        assert exited.value.code == 2
    assert "error: " in capsys.readouterr().err
