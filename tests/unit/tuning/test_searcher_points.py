"""The searchers run the first points before their own proposals; the Bayesian one also learns
from an identical warm start's results without running them (no Ray started: a searcher is
plain Python until Tune drives it)."""

import pytest

from tuning.searchers import create_searcher
from tuning.space import param_space
from tuning.spec import ParamSpec

ETA = "hyperparameters.params.eta"
DEPTH = "hyperparameters.params.max_depth"
SPACE = param_space(
    {
        ETA: ParamSpec(type="loguniform", low=0.01, high=0.5),
        DEPTH: ParamSpec(type="randint", low=2, high=8),
    }
)
DEFAULT = {ETA: 0.3, DEPTH: 4}


@pytest.mark.parametrize("name", ["bayesian", "hyperopt"])
def test_the_first_point_is_the_first_suggestion(name):
    searcher = create_searcher(
        name, space=SPACE, metric="valid_logloss", mode="min", seed=0, points=[DEFAULT]
    )
    assert searcher.set_search_properties("valid_logloss", "min", SPACE)
    assert searcher.suggest("t1") == pytest.approx(DEFAULT)
    assert searcher.suggest("t2") != pytest.approx(DEFAULT)


def test_bayesian_runs_the_default_and_learns_the_parents_results():
    parents = [({ETA: 0.05, DEPTH: 6}, 0.21), ({ETA: 0.4, DEPTH: 2}, 0.35)]
    searcher = create_searcher(
        "bayesian",
        space=SPACE,
        metric="valid_logloss",
        mode="min",
        seed=0,
        points=[DEFAULT],
        evaluated=parents,
    )
    assert searcher.set_search_properties("valid_logloss", "min", SPACE)
    assert searcher.suggest("t1") == DEFAULT
    done = [t for t in searcher._ot_study.trials if t.state.name == "COMPLETE"]
    assert [(t.params, t.value) for t in done] == parents
    # A restored searcher already has its study: the prior is not added twice.
    assert not searcher.set_search_properties("valid_logloss", "min", SPACE)
    assert len([t for t in searcher._ot_study.trials if t.state.name == "COMPLETE"]) == 2
