"""Training health: rules that watch a run's signals and stop it, alert or tag it.

``rules`` holds the rules as pure functions (SageMaker Debugger's defaults); ``spec`` the
``health:`` section of a job that picks them and their actions.
"""

from ray_apps.training.health.rules import RULES, Finding, Observed
from ray_apps.training.health.spec import HealthSpec, RuleSpec, rule_names

__all__ = ["RULES", "Finding", "HealthSpec", "Observed", "RuleSpec", "rule_names"]
