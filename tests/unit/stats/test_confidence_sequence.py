"""The always-valid confidence sequence: the paper's formula by hand, gbstats' numbers, the
false-winner rate under the null when read after every batch, and power on a real gap."""

import math

import numpy as np
import pytest

from ray_apps.errors import SpecError
from ray_apps.stats import decide, difference_cs
from ray_apps.stats.confidence_sequence import half_width


def ones(k: int, n: int) -> np.ndarray:
    return np.r_[np.ones(k), np.zeros(n - k)]


def test_the_interval_is_the_papers_normal_mixture_boundary_by_hand():
    # A: 3 right of 4, B: 4 right of 5; alpha 0.05, tuned for N = 100.
    a, b, alpha, t_star = [1, 0, 1, 1], [1, 1, 1, 0, 1], 0.05, 100
    var_a = (3 * (1 - 0.75) ** 2 + (0 - 0.75) ** 2) / 3  # sample variance, ddof 1: 0.25
    var_b = (4 * (1 - 0.8) ** 2 + (0 - 0.8) ** 2) / 4  # 0.2
    n = 9
    sigma2 = n * (var_a / 4 + var_b / 5)  # N (s_A²/n_A + s_B²/n_B) = 9 * 0.1025
    # Waudby-Smith et al. eq. 161: rho for t*; eq. 9: the boundary.
    rho2 = (-2 * math.log(alpha) + math.log(-2 * math.log(alpha) + 1)) / t_star
    width = math.sqrt(
        sigma2 * 2 * (n * rho2 + 1) / (n**2 * rho2) * math.log(math.sqrt(n * rho2 + 1) / alpha)
    )
    cs = difference_cs(np.array(a), np.array(b), alpha, tuning_n=t_star)
    assert cs.estimate == pytest.approx(0.05)
    assert (cs.lower, cs.upper) == pytest.approx((0.05 - width, 0.05 + width), rel=1e-12)
    assert width == pytest.approx(1.2675, abs=1e-4)  # by calculator; wide: 9 rows say little
    assert (cs.n_a, cs.n_b) == (4, 5) and decide(cs) == "no difference yet"


# gbstats 0.8.0 SequentialTwoSidedTTest(difference_type="absolute") on SampleMeanStatistic of
# these arrays: (lower, upper, p_value). gbstats pins numpy<2 and pandas<2, so it cannot be a
# dev dependency here; the numbers were computed once from its wheel (imported, not installed).
GBSTATS = {
    "bernoulli_80_85": (-0.0029927544899668104, 0.10299275448996667, 0.07513285426923981),
    "ramps": (-0.05196913815922477, 0.25696913815922395, 0.39671014696908957),
    "small_b_worse": (-0.31962806625559925, 0.1196280662555991, 1.0),
    "waves": (-0.01734730177534568, 0.11632292901225152, 0.12693370176265978),
}
CASES = {
    "bernoulli_80_85": (ones(800, 1000), ones(850, 1000), 5000, 0.05),
    "ramps": ((np.arange(400) % 7) / 3.0, (np.arange(380) % 5) / 2.0 + 0.1, 2000, 0.05),
    "small_b_worse": (ones(40, 50), ones(49, 70), 100, 0.10),
    "waves": (np.sin(np.arange(3000)), np.cos(np.arange(2800)) + 0.05, 10000, 0.01),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_matches_gbstats_sequential_two_sided_test(case):
    a, b, tuning_n, alpha = CASES[case]
    cs = difference_cs(a, b, alpha, tuning_n=tuning_n)
    lower, upper, p = GBSTATS[case]
    assert (cs.lower, cs.upper, cs.p_value) == pytest.approx((lower, upper, p), rel=1e-9)


def test_the_p_value_is_below_alpha_exactly_when_the_interval_excludes_zero():
    for k in range(780, 900, 5):
        cs = difference_cs(ones(800, 1000), ones(k, 1000), tuning_n=2000)
        assert (cs.p_value < 0.05) == (decide(cs) != "no difference yet")


def test_tiny_or_constant_arms_give_an_infinite_interval():
    for a, b in [([], [1, 0]), ([1], [1, 0, 1]), ([1, 1, 1], [0, 0, 0])]:
        cs = difference_cs(np.array(a), np.array(b))
        assert (cs.lower, cs.upper) == (-np.inf, np.inf) and decide(cs) == "no difference yet"
    assert np.isnan(difference_cs(np.array([]), np.array([1.0])).estimate)


def test_decide_follows_the_direction_of_better():
    cs = difference_cs(ones(700, 1000), ones(850, 1000))  # B's mean is higher
    assert decide(cs) == "B better" and decide(cs, higher_is_better=False) == "A better"
    assert decide(difference_cs(ones(850, 1000), ones(700, 1000))) == "A better"


def test_bad_alpha_or_tuning_n_are_refused():
    with pytest.raises(SpecError, match="alpha=1.5"):
        difference_cs(np.ones(3), np.ones(3), 1.5)
    with pytest.raises(SpecError, match="tuning_n=0"):
        difference_cs(np.ones(3), np.ones(3), tuning_n=0)


def peeks(p_a, p_b, experiments, batches, per_batch, tuning_n, seed):
    """Every experiment's interval after each batch (Bernoulli arms), vectorized through the
    same ``half_width`` as ``difference_cs``: (lower, upper), each (experiments, batches)."""
    rng = np.random.default_rng(seed)
    n = per_batch * np.arange(1, batches + 1)
    s_a = rng.binomial(per_batch, p_a, (experiments, batches)).cumsum(axis=1)
    s_b = rng.binomial(per_batch, p_b, (experiments, batches)).cumsum(axis=1)
    m_a, m_b = s_a / n, s_b / n
    var = (m_a * (1 - m_a) + m_b * (1 - m_b)) / (n - 1)  # sample variances (ddof 1) / n each
    width = half_width(var, 2 * n, 0.05, tuning_n)
    width = np.where(var > 0, width, np.inf)
    return m_b - m_a - width, m_b - m_a + width


def test_peeking_after_every_batch_keeps_false_winners_under_alpha():
    # 2,000 A/A experiments (both arms 80 % accurate), read after each of 20 batches of 50 per
    # arm. Observed with this seed: 1.0 % (20 of 2,000; 1.25-1.45 % with seeds 1-3), well under
    # alpha = 5 % (the binomial standard error at 2,000 experiments is 0.2 points). A
    # fixed-horizon z-test read the same way finds a "winner" in 23.6 % of them.
    lower, upper = peeks(0.8, 0.8, 2000, 20, 50, tuning_n=2000, seed=7)
    ever = np.any((lower > 0) | (upper < 0), axis=1)
    assert ever.mean() <= 0.05
    # The same design with the fixed-horizon 95 % interval shows why the sequence is needed.
    rng = np.random.default_rng(7)
    n = 50 * np.arange(1, 21)
    m_a = rng.binomial(50, 0.8, (2000, 20)).cumsum(axis=1) / n
    m_b = rng.binomial(50, 0.8, (2000, 20)).cumsum(axis=1) / n
    z = np.abs(m_b - m_a) / np.sqrt((m_a * (1 - m_a) + m_b * (1 - m_b)) / n)
    assert np.any(z > 1.96, axis=1).mean() > 0.10


def test_a_five_point_gap_is_found_with_realistic_traffic():
    # 0.80 vs 0.85 accuracy, labels checked after every 250 per arm, up to 5,000 per arm
    # (10,000 labelled rows). 500 experiments; observed: B found better in all of them by 5,000
    # per arm, after a median 1,250 per arm; A never.
    lower, upper = peeks(0.80, 0.85, 500, 20, 250, tuning_n=4000, seed=11)
    b_better, a_better = lower > 0, upper < 0
    assert b_better.any(axis=1).mean() >= 0.95 and not a_better.any()
    first = np.argmax(b_better, axis=1)[b_better.any(axis=1)]
    assert 250 * (np.median(first) + 1) <= 2500
