"""Pins the public surface of ``ray_apps.bias``."""

from ray_apps import bias


def test_bias_public_names():
    assert sorted(bias.__all__) == [
        "BiasJobSpec",
        "BiasReport",
        "BiasResult",
        "FacetBias",
        "METRICS",
        "SideCounts",
        "facet_bias",
        "parse_bias_spec",
        "run_bias",
    ]
    for name in bias.__all__:
        assert getattr(bias, name) is not None
