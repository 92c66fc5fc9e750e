"""Pins the public surface of ``ray_apps.explain``."""

from ray_apps import explain


def test_explain_public_names():
    assert sorted(explain.__all__) == [
        "ExplainJobSpec",
        "ExplainResult",
        "Explainer",
        "Explanation",
        "parse_explain_spec",
        "run_explain",
    ]
    for name in explain.__all__:
        assert getattr(explain, name) is not None
