"""Training health: rules that watch a run's signals and stop it, alert or tag it.

``rules`` holds the rules as pure functions (SageMaker Debugger's defaults); ``spec`` the
``health:`` section of a job that picks them and their actions; ``watch`` the pure decision at
each epoch (``decide``) and the history every rank keeps for it; ``actions`` what rank 0 does
with a verdict (console, run log, MLflow tags, webhook); ``report`` the run's HTML page of its
curves and verdicts, written when it ends.
"""

from ray_apps.training.health.report import render_health_report, write_health_report
from ray_apps.training.health.rules import RULES, Finding, Observed
from ray_apps.training.health.spec import HealthSpec, RuleSpec, rule_names
from ray_apps.training.health.watch import BAD_STATE, NO_VERDICT, HealthWatch, Verdict, decide

__all__ = [
    "BAD_STATE",
    "NO_VERDICT",
    "RULES",
    "Finding",
    "HealthSpec",
    "HealthWatch",
    "Observed",
    "RuleSpec",
    "Verdict",
    "decide",
    "render_health_report",
    "rule_names",
    "write_health_report",
]
