"""Planning figures from a study's own spread: seeds needed, power with the seeds run, detectable difference."""

import math

import pytest

from keras_resnet_opt.study import contrasts, planning, stats

SETTINGS = {"alpha": 0.05, "equivalence_margin_pp": 1.0, "min_seeds": 3}


def outcome(differences, a="adam"):
    n = len(differences)
    paired = contrasts.Paired("w", a, "sgdm", "test_error", tuple(range(n)), tuple(differences), (0.0,) * n)
    return contrasts.Outcome({}, paired, None, 0.5, 0.5, 0.5, 1, contrasts.INCONCLUSIVE)


def test_the_spread_pools_the_contrasts_with_two_pairs_and_the_family_counts_them_all():
    # SDs 1 (df 2) and sqrt(8) (df 1); a one-pair contrast and a contrast not run add nothing but count in m.
    not_run = contrasts.Outcome({}, None, None, math.nan, math.nan, math.nan, 0, contrasts.NOT_RUN)
    plan = planning.planning([outcome([1.0, 2.0, 3.0]), outcome([0.0, 4.0]), outcome([5.0]), not_run], SETTINGS)
    assert plan.sd == pytest.approx(math.sqrt(10.0 / 3.0)) and plan.df == 3
    assert (plan.pooled, plan.m, plan.ran) == (2, 4, 3)
    assert plan.sd_low < plan.sd < plan.sd_high
    assert planning.planning([outcome([5.0])], SETTINGS) is None


def test_the_detectable_difference_is_where_the_power_reaches_80_percent():
    plan = planning.planning([outcome([1.0, 3.0, 2.0] * 3 + [2.0])], SETTINGS)  # 10 pairs, SD 0.82
    detectable = plan.detectable(0.05)
    assert stats.power_difference(10, plan.sd, detectable, 0.05) == pytest.approx(0.8, abs=1e-4)
    # d = 1 gives 0.803 with 10 pairs (the textbook value): 80% is reached just below one SD.
    assert 0.97 * plan.sd < detectable < plan.sd
    assert plan.detectable(0.05 / 7) > detectable  # a stricter level needs a larger difference


def test_seed_counts_start_at_the_declared_minimum():
    plan = planning.planning([outcome([1.0, 1.2, 1.1])], SETTINGS)  # SD 0.1 pp: two pairs would find 1 pp
    questions = plan.questions()
    assert [plan.seeds_needed(power) for _, _, power in questions][:3] == [3, 3, 3]
    assert [level for _, level, _ in questions] == [0.05, 0.05, 0.05, 0.05]  # one declared contrast: alpha / 1


def test_below_the_minimum_of_seeds_no_detectable_difference_is_claimed():
    plan = planning.planning([outcome([1.0, 3.0])], SETTINGS)  # two pairs, the study's minimum is three
    assert not plan.decides and plan.detectable(0.05) > 5.0  # df = 1: only huge differences are found
    assert planning.difference_text(174.6) == "over 100 pp, more than any test error can differ"
    assert planning.difference_text(10.54) == "about 10.5 pp"


def test_the_detectable_difference_scales_with_the_spread_and_gives_up_cleanly():
    def plan(sd, ran):
        return planning.Planning(sd, ran - 1, sd, sd, 1, 1, ran, 0.05, 1.0, 3)

    # Solved in units of the spread: a tiny spread keeps its relative precision.
    assert plan(1e-9, 30).detectable(0.05) == pytest.approx(1e9 * plan(1.0, 30).detectable(0.05) * 1e-18, rel=1e-6)
    assert math.isnan(plan(3.0, 2).detectable(1e-9))  # scipy's noncentral t cannot answer with df = 1 there
