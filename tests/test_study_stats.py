"""The report's statistics on numbers with known answers, checked against SciPy or by hand."""

import math

import numpy as np
import pytest
from scipy import stats as scipy_stats

from keras_resnet_opt.study import stats


def test_paired_t_matches_scipy_and_hand_values():
    a = np.array([0.52, 0.47, 0.61, 0.55])
    b = np.array([0.58, 0.50, 0.69, 0.60])
    t = stats.paired_t(a - b)
    assert (t.n, t.df) == (4, 3)
    assert t.mean == pytest.approx(-0.055)
    reference = scipy_stats.ttest_rel(a, b)
    assert t.p_two_sided() == pytest.approx(reference.pvalue)
    low, high = t.interval(0.95)
    half = scipy_stats.t.ppf(0.975, 3) * np.std(a - b, ddof=1) / 2.0
    assert (low, high) == pytest.approx((-0.055 - half, -0.055 + half))
    assert t.p_less(0.0) == pytest.approx(scipy_stats.ttest_rel(a, b, alternative="less").pvalue)


def test_two_pairs_give_the_df1_interval_and_one_pair_none():
    # The adam - sgdm numbers are a df = 1 interval: t_{0.975,1} = 12.706.
    t = stats.paired_t([-6.4, -7.0])
    assert t.half_width() == pytest.approx(12.7062047 * np.std([-6.4, -7.0], ddof=1) / math.sqrt(2))
    single = stats.paired_t([1.0, float("nan")])
    assert single.n == 1 and math.isnan(single.p_two_sided()) and math.isnan(single.interval()[0])


def test_identical_differences_are_certain():
    t = stats.paired_t([2.0, 2.0, 2.0])
    assert t.p_two_sided() == 0.0 and t.p_less(3.0) == 0.0 and t.p_greater(3.0) == 1.0
    assert stats.paired_t([0.0, 0.0, 0.0]).p_two_sided() == 1.0


def test_tost_is_the_larger_one_sided_p_and_the_90_percent_interval_rule():
    d = np.array([0.1, -0.2, 0.15, 0.05, -0.05])
    t = stats.paired_t(d)
    upper = scipy_stats.ttest_1samp(d, 1.0, alternative="less").pvalue
    lower = scipy_stats.ttest_1samp(d, -1.0, alternative="greater").pvalue
    assert stats.tost_p(t, 1.0) == pytest.approx(max(upper, lower))
    low, high = t.interval(0.90)
    assert (stats.tost_p(t, 1.0) <= 0.05) == (-1.0 < low and high < 1.0)
    # A margin the 90% interval pokes out of: no equivalence.
    margin = high - 1e-3
    assert stats.tost_p(t, margin) > 0.05


def test_outside_margin_p_points_the_estimate_s_way():
    t = stats.paired_t([3.0, 3.2, 2.9, 3.1])
    assert stats.outside_margin_p(t, 1.0) == pytest.approx(t.p_greater(1.0))
    assert stats.outside_margin_p(t, 1.0) < 0.001
    negative = stats.paired_t([-3.0, -3.2, -2.9])
    assert stats.outside_margin_p(negative, 1.0) == pytest.approx(negative.p_less(-1.0))


def test_holm_by_hand():
    # Sorted: 0.01 x 3 = 0.03; 0.03 x 2 = 0.06; 0.04 x 1 = 0.04 -> kept monotone at 0.06.
    assert stats.holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    out = stats.holm([0.2, float("nan"), 0.01])
    assert out[0] == pytest.approx(0.2) and math.isnan(out[1]) and out[2] == pytest.approx(0.02)
    assert stats.holm([0.9, 0.8]) == pytest.approx([1.0, 1.0])  # 0.8 x 2 caps at 1


# The last two: more discordant items than 2.0**n can hold (n > 1023), as two 10,000-image test sets give.
@pytest.mark.parametrize("only_a,only_b", [(7, 2), (2, 7), (0, 5), (12, 12), (30, 41), (1, 0), (700, 800),
                                           (1600, 1500)])  # fmt: skip
def test_mcnemar_exact_matches_scipy_binomtest(only_a, only_b):
    both = 50
    a = np.array([True] * only_a + [False] * only_b + [True] * both + [False] * 9)
    b = np.array([False] * only_a + [True] * only_b + [True] * both + [False] * 9)
    result = stats.mcnemar(a, b)
    assert (result.only_a, result.only_b, result.n) == (only_a, only_b, a.size)
    reference = scipy_stats.binomtest(only_a, only_a + only_b, 0.5).pvalue
    assert result.p_exact == pytest.approx(reference)
    low = min(only_a, only_b)
    mid = 2 * (
        scipy_stats.binom.cdf(low, only_a + only_b, 0.5) - 0.5 * scipy_stats.binom.pmf(low, only_a + only_b, 0.5)
    )
    assert result.p_mid == pytest.approx(min(1.0, mid))
    assert result.p_mid <= result.p_exact


def test_mcnemar_without_discordant_items_and_interval():
    same = np.array([True, False, True])
    assert stats.mcnemar(same, same).p_exact == 1.0
    result = stats.mcnemar([True] * 60 + [False] * 40, [True] * 50 + [False] * 50)
    assert result.accuracy_difference == pytest.approx(0.10)
    # b = 10, c = 0, n = 100: sqrt(10 - 100/100) / 100 * 1.96.
    assert result.accuracy_difference_half_width() == pytest.approx(1.959964 * 3.0 / 100, rel=1e-5)
    with pytest.raises(ValueError, match="same items"):
        stats.mcnemar([True], [True, False])


def test_kaplan_meier_counts_censored_runs():
    # Reached at 2 and 4, the third never (censored at 5): S(2) = 2/3, S(4) = 1/3 -> median 4.
    assert stats.kaplan_meier_median([2, 4, 5], [True, True, False]) == 4
    # Dropping the censored run instead would give 2: the censored run must count.
    assert stats.kaplan_meier_median([2, 4], [True, True]) == 2
    assert math.isinf(stats.kaplan_meier_median([3, 5, 5], [True, False, False]))
    assert stats.kaplan_meier_median([1, 1, 2, 6], [True, True, True, False]) == 1
    assert math.isnan(stats.kaplan_meier_median([], []))


def test_moving_average_residual_sd_of_a_known_curve():
    # A line plus an alternating ±delta: each interior residual is ±4 delta / 3.
    delta = 0.03
    epochs = np.arange(8)
    curve = 0.6 - 0.02 * epochs + delta * (-1.0) ** epochs
    residuals = stats.moving_average_residuals(curve)
    assert np.abs(residuals) == pytest.approx(np.full(6, 4 * delta / 3))
    assert stats.residual_sd([curve]) == pytest.approx(4 * delta / 3)
    # A straight line is perfectly smooth; segments shorter than 3 add nothing.
    assert stats.residual_sd([0.5 - 0.1 * epochs, [0.9, 0.1]]) == pytest.approx(0.0)
    assert math.isnan(stats.residual_sd([[0.4, 0.3]]))


def test_a_whole_epoch_measure_is_never_more_certain_than_its_rounding():
    # Three seeds, each one epoch (10 pp of a 10-epoch budget) apart: not "certain".
    floor = stats.rounding_sd(10.0)
    assert floor == pytest.approx(10.0 / math.sqrt(6.0))
    t = stats.paired_t([10.0, 10.0, 10.0], floor)
    assert t.sd == 0.0 and t.sd_used == floor
    expected = scipy_stats.t.sf(10.0 / (floor / math.sqrt(3)), 2) * 2
    assert t.p_two_sided() == pytest.approx(expected) and 0.05 < t.p_two_sided() < 0.06
    # a sample SD above the floor is used as it is
    spread = stats.paired_t([0.0, 10.0, 20.0], floor)
    assert spread.sd_used == spread.sd == pytest.approx(10.0)


def _simulated_power(n, sd, difference, reject, draws=20000):
    """Share of `draws` simulated studies of `n` normal paired differences in which `reject(PairedT)` holds."""
    rng = np.random.default_rng(7)
    samples = rng.normal(difference, sd, size=(draws, n))
    return float(np.mean([reject(stats.paired_t(row)) for row in samples]))


def test_planning_powers_agree_with_simulated_studies():
    # The paired t-test: G*Power's textbook value (d = 1, n = 10, two-sided 0.05) is 0.803.
    assert stats.power_difference(10, 1.0, 1.0, 0.05) == pytest.approx(0.803, abs=0.001)
    simulated = _simulated_power(6, 2.0, 2.5, lambda t: t.p_two_sided() <= 0.01 and t.mean > 0)
    assert stats.power_difference(6, 2.0, 2.5, 0.01) == pytest.approx(simulated, abs=0.015)
    # TOST within ±1 with true difference 0.2: a lower bound, close where the power is high.
    simulated = _simulated_power(12, 1.0, 0.2, lambda t: stats.tost_p(t, 1.0) <= 0.05)
    assert stats.power_equivalence(12, 1.0, 1.0, 0.05, 0.2) == pytest.approx(simulated, abs=0.02)
    assert stats.power_equivalence(12, 1.0, 1.0, 0.05, 0.2) <= simulated + 0.005
    assert stats.seeds_needed(lambda n: stats.power_difference(n, 1.0, 1.0, 0.05)) == 10
    assert stats.seeds_needed(lambda n: stats.power_difference(n, 1.0, 0.01, 0.05), most=50) is None
    # The true SD lies in the chi-square interval: sd^2 df / chi2 quantiles (df = 14: 0.73x to 1.58x).
    low, high = stats.sd_interval(1.0, 14)
    assert (low, high) == pytest.approx((0.732, 1.577), abs=0.001)


def test_pooled_sd_weights_each_set_by_its_degrees_of_freedom():
    a, b = stats.paired_t([1.0, 2.0, 3.0]), stats.paired_t([0.0, 4.0])  # sd 1 (df 2), sd sqrt(8) (df 1)
    sd, df = stats.pooled_sd([a, b, stats.paired_t([5.0])])
    assert df == 3 and sd == pytest.approx(math.sqrt((2 * 1.0 + 1 * 8.0) / 3))
    assert math.isnan(stats.pooled_sd([stats.paired_t([1.0])])[0])


def test_the_smallest_decidable_gap_at_the_rounding_floor():
    floor = stats.rounding_sd(1.0)
    gap = stats.smallest_decidable_gap(3, floor, 0.05)
    assert gap == pytest.approx(4.302653 * floor / math.sqrt(3), rel=1e-6)  # t_(0.975, 2) by hand
    # Three seeds one epoch apart every time: the floor keeps the test short of alpha; just past the gap it decides.
    assert stats.paired_t([1.0, 1.0, 1.0], floor).p_two_sided() > 0.05
    assert stats.paired_t([gap * 1.001] * 3, floor).p_two_sided() < 0.05
    assert math.isnan(stats.smallest_decidable_gap(1, floor, 0.05))
