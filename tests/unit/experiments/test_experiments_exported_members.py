"""Pins the public surface of ``ray_apps.experiments``."""

from ray_apps import experiments


def test_experiments_public_names():
    assert sorted(experiments.__all__) == [
        "ABReadout",
        "ArmReadout",
        "Comparison",
        "METRICS",
        "ShadowReport",
        "ShadowWindow",
        "SideStats",
        "ab_readout",
        "shadow_report",
    ]
    for name in experiments.__all__:
        assert getattr(experiments, name) is not None
