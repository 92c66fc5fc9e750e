"""Readouts of experiments on live traffic: variants and shadows of an endpoint, from capture.

``ab_readout``: which variant is better once labels arrive (an always-valid test, safe to read
after every batch of labels), with label coverage and a sample-ratio check;
``shadow_report``: a shadow variant's latency, errors and agreement with production's answers.
"""

from ray_apps.experiments.ab_readout import METRICS, ABReadout, ArmReadout, Comparison, ab_readout
from ray_apps.experiments.shadow_report import (
    ShadowReport,
    ShadowWindow,
    SideStats,
    shadow_report,
)

__all__ = [
    "METRICS",
    "ABReadout",
    "ArmReadout",
    "Comparison",
    "ShadowReport",
    "ShadowWindow",
    "SideStats",
    "ab_readout",
    "shadow_report",
]
