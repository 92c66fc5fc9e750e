"""Ray's OptunaSearch that runs some configurations first and learns from others unrun.

Ray 2.60's ``OptunaSearch`` reads ``points_to_evaluate`` and ``evaluated_rewards`` as one list:
with rewards every point is a finished result, without them every point is run first. An
identical warm start on a Bayesian searcher needs both at once: the parents' trials are
results to learn from, and the training job's own configuration (tuning.default_point) is to
be run. The finished results go in through Ray's public ``add_evaluated_point`` as soon as the
study exists, which is when Tune hands the searcher its space (``set_search_properties``), the
moment Ray itself adds ``evaluated_rewards``. Module-level, so a saved experiment unpickles it.
"""

from __future__ import annotations

from typing import Any

from ray.tune.search.optuna import OptunaSearch


class OptunaWithPrior(OptunaSearch):
    def __init__(self, *, prior: list[tuple[dict[str, Any], float]], **kwargs: Any):
        super().__init__(**kwargs)
        self._prior = list(prior)

    def set_search_properties(self, metric, mode, config, **spec) -> bool:
        if not super().set_search_properties(metric, mode, config, **spec):
            return False  # a study already exists (restored): it holds the prior already
        for point, reward in self._prior:
            self.add_evaluated_point(point, reward)
        return True
