import pytest

from ray_apps.errors import SpecError
from serve.multi_model import ModelSetSpec, parse_model_set


def test_prefix_or_tag_with_a_budget():
    spec = parse_model_set({"prefix": "store-", "max_models": 20, "prewarm": ["store-1"]})
    assert (spec.prefix, spec.tag, spec.max_models, spec.max_model_bytes) == (
        "store-",
        None,
        20,
        None,
    )
    assert spec.selects("store-12", frozenset()) and not spec.selects("shop-1", frozenset())
    assert spec.selector == "prefix 'store-'"
    tagged = parse_model_set({"tag": "tenant-models", "max_model_bytes": 2_000_000_000})
    assert tagged.selects("anything", frozenset({"tenant-models", "x"}))
    assert not tagged.selects("store-1", frozenset({"other"}))
    assert tagged.prewarm == [] and parse_model_set(tagged) is tagged


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"max_models": 2}, "neither tag nor prefix; give exactly one"),
        ({"tag": "t", "prefix": "s", "max_models": 2}, "both tag and prefix; give exactly one"),
        ({"prefix": "store-"}, "no budget.*models.max_model_bytes.*models.max_models"),
        (
            {"prefix": "store-", "max_models": 0},
            r"models: max_models: .*greater than or equal to 1",
        ),
        ({"prefix": "store-", "max_model_bytes": -5}, r"models: max_model_bytes: .*\(got -5\)"),
        ({"prefix": "store-", "max_models": 2, "budget": 3}, "models: budget: unknown field"),
        ({"prefix": "", "max_models": 2}, "models: prefix: '' cannot start a model name"),
        ({"prefix": "store *", "max_models": 2}, "cannot start a model name"),
        ({"tag": "raymaker.approval.status", "max_models": 2}, "registry's own tags"),
        ({"tag": "has space", "max_models": 2}, "models: tag: 'has space' is not a tag name"),
        (
            {"prefix": "store-", "max_models": 2, "prewarm": ["shop-1"]},
            r"prewarm names \['shop-1'\], which do not start with models.prefix 'store-'",
        ),
        (
            {"prefix": "store-", "max_models": 1, "prewarm": ["store-1", "store-2"]},
            "prewarm lists 2 models but models.max_models is 1",
        ),
        ({"tag": "t", "max_models": 5, "prewarm": ["a", "a"]}, r"lists \['a'\] more than once"),
        ({"tag": "t", "max_models": 5, "prewarm": ["no way"]}, "are not model names"),
    ],
)
def test_refusals_name_the_field_and_the_fix(data, message):
    with pytest.raises(SpecError, match=message) as err:
        parse_model_set(data)
    assert str(err.value).startswith("models: ")


def test_a_byte_budget_alone_allows_any_prewarm_count():
    spec = ModelSetSpec(tag="t", max_model_bytes=1 << 30, prewarm=[f"m{i}" for i in range(50)])
    assert len(spec.prewarm) == 50
