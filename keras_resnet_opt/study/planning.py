"""How many seeds a study needs, worked out from a finished study's own spread: a planning aid.

A comparison with three paired seeds decides only large differences; a
reader of an "inconclusive" should learn how large, and whoever repeats the
study how many seeds it would take to decide a smaller one. Both follow from
the seed-to-seed standard deviation of the paired differences of final test
error, pooled over the study's declared contrasts and taken as if it were the
true one (its chi-square interval says how far off that can be; the
contrasts share runs, so it is less certain than its df say). Under normal
differences the power of the paired t-test and of TOST at that spread is the
noncentral t (`stats`).

Each question names its test's family: a difference among the m declared
contrasts is planned at alpha / m, the strictest step of Holm over that
family, so its counts are upper bounds under Holm; a claim of one test, and
an equivalence (a claim's test, each claim its own family), at alpha. No
count is below the study's ``min_seeds``. Nothing here decides anything.
"""

import dataclasses
import math

from scipy import optimize

from keras_resnet_opt.study import stats

POWER = 0.8  # the power a next study should have
MOST_SEEDS = 200  # the largest number of seeds worth naming


def difference_text(pp):
    """A detectable difference in words: a test error differs by at most 100 pp (NaN: beyond computing)."""
    return f"about {pp:.1f} pp" if pp <= 100.0 else "over 100 pp, more than any test error can differ"


@dataclasses.dataclass(frozen=True)
class Planning:
    """The spread of one workload's declared contrasts and what it implies.

    Attributes:
        sd, df: the pooled standard deviation of the paired differences (pp)
            and its degrees of freedom; sd_low, sd_high its 95% interval.
        pooled: how many contrasts (with two or more pairs) it pools.
        m: the declared contrasts, the family a difference is tested in.
        ran: the paired seeds this study ran (the most any contrast had).
        alpha, margin, floor: the declared alpha, equivalence margin (pp)
            and minimum of paired seeds.
    """

    sd: float
    df: int
    sd_low: float
    sd_high: float
    pooled: int
    m: int
    ran: int
    alpha: float
    margin: float
    floor: int

    def questions(self):
        """``[(what to find, test level, power(n))]``: the four questions the report answers."""
        sd, margin, family = self.sd, self.margin, self.alpha / self.m
        return [
            (f"a true difference of {margin:g} pp, among the {self.m} declared contrasts", family,
             lambda n: stats.power_difference(n, sd, margin, family)),
            (f"a true difference of {2 * margin:g} pp, among the {self.m} declared contrasts", family,
             lambda n: stats.power_difference(n, sd, 2 * margin, family)),
            (f"a true difference of {2 * margin:g} pp, in a claim of one test", self.alpha,
             lambda n: stats.power_difference(n, sd, 2 * margin, self.alpha)),
            (f"equivalence within ±{margin:g} pp (TOST) of two optimizers that do not differ, in a claim of one "
             "test", self.alpha, lambda n: stats.power_equivalence(n, sd, margin, self.alpha)),
        ]  # fmt: skip

    def seeds_needed(self, power):
        """Paired seeds for `POWER` (at least `floor`), or None beyond `MOST_SEEDS`."""
        needed = stats.seeds_needed(power, POWER, MOST_SEEDS)
        return None if needed is None else max(needed, self.floor)

    @property
    def decides(self):
        """Whether the study ran enough paired seeds for any test to decide (its ``min_seeds``)."""
        return self.ran >= self.floor

    def detectable(self, level):
        """The true difference (pp) this study's own seeds find `POWER` of the time with a test at `level`.

        Solved in units of the spread (so its precision does not depend on
        the spread's size); NaN where the power cannot be computed (scipy's
        noncentral t gives up at extreme levels with one degree of freedom)
        or is not reached within 2^40 spreads.
        """
        if self.ran < 2:
            return math.nan

        def short(effect):
            return stats.power_difference(self.ran, 1.0, effect, level) - POWER

        high = 1.0
        for _ in range(40):
            gap = short(high)
            if not math.isfinite(gap):
                return math.nan
            if gap >= 0:
                return float(optimize.brentq(short, 0.0, high)) * self.sd
            high *= 2.0
        return math.nan


    def detectable_texts(self):
        """`detectable` in words: among the m declared contrasts (alpha / m), and in a claim of one test (alpha)."""
        return (difference_text(self.detectable(self.alpha / self.m)), difference_text(self.detectable(self.alpha)))


def planning(outcomes, settings):
    """The `Planning` of one workload's declared contrasts (`contrasts.Outcome`), or None without a spread."""
    pooled = [o.paired.t for o in outcomes if o.paired is not None and o.paired.n >= 2]
    sd, df = stats.pooled_sd(pooled)
    if not math.isfinite(sd) or sd <= 0:
        return None
    low, high = stats.sd_interval(sd, df)
    return Planning(
        sd=sd, df=df, sd_low=low, sd_high=high, pooled=len(pooled), m=len(outcomes), ran=max(t.n for t in pooled),
        alpha=float(settings["alpha"]), margin=float(settings["equivalence_margin_pp"]),
        floor=int(settings["min_seeds"]),
    )  # fmt: skip
