"""The statistical tests the report decides with, on plain numbers (no runs, no files).

Why these and not interval overlap: a seed fixes the initial weights, the data
order and the augmentation for every optimizer alike, so two optimizers' runs
pair up by seed and their difference is measured far more precisely than
either mean. Every comparison here is paired, and each question has the test
that answers it:

- a difference ("X ends lower than Y"): the paired t-test, two-sided (for a
  measure recorded in whole units, such as epochs to a target, with the
  standard deviation floored at what the rounding alone gives, `rounding_sd`);
- an equivalence ("X is like Y", within a margin declared in advance): two
  one-sided tests (TOST, Schuirmann 1987); the 90% paired interval inside
  the margin is the same decision at alpha = 0.05;
- a non-inferiority ("X is not worse than Y by more than the margin"): the
  one-sided test against the margin;
- a family of such tests: Holm's step-down adjustment (Holm 1979), which
  controls the chance of any false decision in the family;
- two models on the same test images: the exact McNemar test on the images
  one gets right and the other wrong (the binomial test of the discordant
  pairs), with its mid-p variant;
- a time that some runs never reach: the Kaplan-Meier median, which counts a
  run that never got there instead of dropping it;
- how jagged a curve is: the residual standard deviation around its 3-point
  moving average;
- how many seeds the next study needs: the power of the paired t-test
  (noncentral t) and of TOST at a given spread, for planning only: no
  decision here uses it.

Everything works in whatever unit the caller passes (the report passes
percentage points); NaN marks what cannot be computed.
"""

import dataclasses
import math

import numpy as np
from scipy import stats

ALPHA = 0.05
# Coverage of every interval the study reports (descriptive and paired alike).
CONFIDENCE = 0.95


# ---------------------------------------------------------------------------
# Paired t
# ---------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class PairedT:
    """Summary of paired differences, and the t-tests on their mean.

    Attributes:
        n: number of pairs (finite differences).
        mean: mean difference.
        sd: sample standard deviation of the differences (ddof 1); NaN for n < 2.
        sd_floor: the smallest standard deviation the measure's resolution
            allows (see `rounding_sd`); the tests and intervals use
            ``max(sd, sd_floor)``. 0 for a continuous measure.
    """

    n: int
    mean: float
    sd: float
    sd_floor: float = 0.0

    @property
    def sd_used(self):
        """The standard deviation the tests use: the sample one, or the resolution's floor if larger."""
        return max(self.sd, self.sd_floor) if math.isfinite(self.sd) else self.sd

    @property
    def df(self):
        return self.n - 1

    @property
    def se(self):
        return self.sd_used / math.sqrt(self.n) if self.n >= 2 else math.nan

    def interval(self, confidence=CONFIDENCE):
        """Two-sided t-interval ``(low, high)`` for the mean difference (df = n - 1)."""
        if self.n < 2 or not math.isfinite(self.sd):
            return math.nan, math.nan
        half = stats.t.ppf(0.5 + confidence / 2.0, self.df) * self.se
        return self.mean - half, self.mean + half

    def half_width(self, confidence=CONFIDENCE):
        low, high = self.interval(confidence)
        return (high - low) / 2.0

    def _t(self, null):
        if self.n < 2 or not math.isfinite(self.sd):
            return math.nan
        if self.se == 0.0:  # every pair differs by the same amount
            return 0.0 if self.mean == null else math.copysign(math.inf, self.mean - null)
        return (self.mean - null) / self.se

    def p_two_sided(self, null=0.0):
        """p of H0: mean == null against mean != null."""
        t = self._t(null)
        return math.nan if math.isnan(t) else float(2.0 * stats.t.sf(abs(t), self.df))

    def p_less(self, bound):
        """p of H0: mean >= bound against H1: mean < bound."""
        t = self._t(bound)
        return math.nan if math.isnan(t) else float(stats.t.cdf(t, self.df))

    def p_greater(self, bound):
        """p of H0: mean <= bound against H1: mean > bound."""
        t = self._t(bound)
        return math.nan if math.isnan(t) else float(stats.t.sf(t, self.df))


def paired_t(differences, sd_floor=0.0):
    """`PairedT` of the finite values in `differences` (a - b per pair).

    Args:
        differences: a - b per pair.
        sd_floor: the resolution's floor on the standard deviation
            (`rounding_sd`), for a measure recorded in whole units.
    """
    x = np.asarray(list(differences), dtype=float)
    x = x[np.isfinite(x)]
    n = int(x.size)
    mean = float(x.mean()) if n else math.nan
    sd = float(x.std(ddof=1)) if n >= 2 else math.nan
    return PairedT(n, mean, sd, float(sd_floor))


def rounding_sd(resolution):
    """Standard deviation of the difference of two values each rounded to `resolution`.

    A time to target is recorded in whole epochs: the true crossing lies
    somewhere in the epoch it is recorded at, so each recorded time carries a
    rounding error spread evenly over one epoch (variance ``h^2 / 12``), and a
    difference of two carries ``h^2 / 6``. Three seeds that all reach the
    target exactly one epoch apart have a sample standard deviation of 0,
    and a t-test would call that certain (t infinite); the rounding alone
    allows ``h / sqrt(6)``, so the tests never use less. (That is the
    rounding variance Sheppard's correction subtracts from grouped data,
    used here as a lower bound instead. A run that never reaches the target
    carries no rounding error, so for a pair with such a run the floor is
    larger than the rounding allows: conservative, never the other way.)
    """
    return float(resolution) / math.sqrt(6.0)


def smallest_decidable_gap(n, sd_floor, alpha):
    """The smallest mean difference a two-sided paired t-test at `alpha` can call significant with `n` pairs
    whose spread is at its floor (every pair the same difference): ``t_(1 - alpha/2, n - 1) * floor / sqrt(n)``.

    For a measure recorded in whole units (`rounding_sd`), a consistent
    difference below this is never decided, however many seeds agree on it.
    """
    if n < 2 or not sd_floor > 0:
        return math.nan
    return float(stats.t.ppf(1.0 - alpha / 2.0, n - 1) * sd_floor / math.sqrt(n))


def tost_p(paired, margin):
    """TOST p of equivalence within ``±margin``: the larger of the two one-sided p's.

    Equivalence is shown at level alpha when this is <= alpha, which is the same
    as the (1 - 2 alpha) paired interval lying inside ``(-margin, margin)``.
    """
    return max(paired.p_greater(-margin), paired.p_less(margin))


def outside_margin_p(paired, margin):
    """p that the mean lies beyond the margin on the side where the estimate is.

    Small when the difference is clearly outside ``±margin`` (one-sided test
    against the nearer edge in the estimate's direction): the evidence *against*
    an equivalence claim.
    """
    if not math.isfinite(paired.mean):
        return math.nan
    return paired.p_greater(margin) if paired.mean >= 0 else paired.p_less(-margin)


def pooled_sd(paired_ts):
    """``(sd, df)`` pooled over several `PairedT` (each about its own mean): sqrt(sum (n - 1) sd^2 / sum (n - 1)).

    Sets with fewer than two values add nothing; ``(nan, 0)`` when none has two.
    """
    usable = [t for t in paired_ts if t.n >= 2 and math.isfinite(t.sd)]
    df = sum(t.df for t in usable)
    if not df:
        return math.nan, 0
    return math.sqrt(sum(t.df * t.sd**2 for t in usable) / df), df


def sd_interval(sd, df, confidence=CONFIDENCE):
    """The chi-square interval ``(low, high)`` of a true standard deviation estimated as `sd` with `df`."""
    if not df or not math.isfinite(sd):
        return math.nan, math.nan
    tail = (1.0 - confidence) / 2.0
    return sd * math.sqrt(df / stats.chi2.ppf(1.0 - tail, df)), sd * math.sqrt(df / stats.chi2.ppf(tail, df))


def power_difference(n, sd, difference, alpha):
    """Chance that the two-sided paired t-test at `alpha` with `n` pairs finds a true mean `difference` (> 0).

    Finding it means rejecting in its own direction (a rejection the wrong
    way is no find). Exact under normal differences with standard deviation
    `sd` (noncentral t).
    """
    if n < 2 or not sd > 0:
        return math.nan
    df = n - 1
    shift = abs(difference) / (sd / math.sqrt(n))
    return float(stats.nct.sf(stats.t.ppf(1.0 - alpha / 2.0, df), df, shift))


def power_equivalence(n, sd, margin, alpha, difference=0.0):
    """Power of TOST within ``±margin`` (each one-sided test at `alpha`) with `n` pairs, true mean `difference`.

    ``P(lower test rejects) + P(upper test rejects) - 1``, each from the
    noncentral t: a lower bound on the chance both reject, and close to it
    wherever the power is worth having (both chances near 1).
    """
    if n < 2 or not sd > 0:
        return math.nan
    df = n - 1
    se = sd / math.sqrt(n)
    critical = stats.t.ppf(1.0 - alpha, df)
    lower = stats.nct.sf(critical, df, (difference + margin) / se)
    upper = stats.nct.cdf(-critical, df, (difference - margin) / se)
    return max(0.0, float(lower + upper - 1.0))


def seeds_needed(power, target=0.8, most=200):
    """The fewest pairs ``n`` in 2..`most` with ``power(n) >= target``; None when even `most` is not enough."""
    for n in range(2, most + 1):
        if power(n) >= target:
            return n
    return None


def holm(pvalues):
    """Holm-adjusted p-values, in the input order; NaN entries stay NaN and do not count.

    ``adjusted_(i) = max_{j <= i} min(1, (m - j + 1) p_(j))`` over the finite
    p-values sorted ascending, m = how many are finite. A hypothesis is rejected
    at level alpha when its adjusted p is <= alpha, which is Holm's step-down
    procedure exactly.
    """
    p = np.asarray(list(pvalues), dtype=float)
    out = np.full(p.shape, np.nan)
    finite = np.flatnonzero(np.isfinite(p))
    m = finite.size
    running = 0.0
    for rank, index in enumerate(finite[np.argsort(p[finite], kind="stable")]):
        running = max(running, min(1.0, (m - rank) * p[index]))
        out[index] = running
    return out.tolist()


# ---------------------------------------------------------------------------
# McNemar
# ---------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class McNemar:
    """Two classifiers on the same test items.

    Attributes:
        n: number of items.
        only_a: items a gets right and b wrong.
        only_b: items b gets right and a wrong.
        p_exact: two-sided exact McNemar p (binomial test of the discordant
            pairs against 1/2).
        p_mid: the mid-p variant (exact p minus the probability of the
            observed split), less conservative.
    """

    n: int
    only_a: int
    only_b: int
    p_exact: float
    p_mid: float

    @property
    def accuracy_difference(self):
        """Accuracy of a minus accuracy of b (a fraction)."""
        return (self.only_a - self.only_b) / self.n if self.n else math.nan

    def accuracy_difference_half_width(self, confidence=CONFIDENCE):
        """Half-width of the normal interval of the paired accuracy difference.

        What resampling the test images alone would move the difference by:
        ``z * sqrt(b + c - (b - c)^2 / n) / n`` with b, c the discordant counts.
        """
        if not self.n:
            return math.nan
        b, c = self.only_a, self.only_b
        variance = max(b + c - (b - c) ** 2 / self.n, 0.0)
        return float(stats.norm.ppf(0.5 + confidence / 2.0) * math.sqrt(variance) / self.n)


def mcnemar(correct_a, correct_b):
    """Exact McNemar test of two boolean "got it right" vectors over the same items.

    With b = #(a right, b wrong) and c = #(a wrong, b right), under H0 (equal
    accuracy) b ~ Binomial(b + c, 1/2); the two-sided exact p doubles the
    smaller tail, capped at 1. No discordant item gives p = 1.

    Raises:
        ValueError: the vectors differ in length.
    """
    a = np.asarray(correct_a, dtype=bool)
    b = np.asarray(correct_b, dtype=bool)
    if a.shape != b.shape:
        raise ValueError(f"McNemar needs two vectors over the same items. Received shapes {a.shape} and {b.shape}")
    only_a, only_b = int(np.sum(a & ~b)), int(np.sum(~a & b))
    discordant, low = only_a + only_b, min(only_a, only_b)
    if discordant == 0:
        return McNemar(int(a.size), 0, 0, 1.0, 1.0)
    # scipy's binomial, not comb(n, k) / 2**n: two 10,000-image test sets can
    # disagree on more than 1,023 images, where 2.0**n overflows a float.
    tail = float(stats.binom.cdf(low, discordant, 0.5))
    point = float(stats.binom.pmf(low, discordant, 0.5))
    p_exact = min(1.0, 2.0 * tail)
    p_mid = min(1.0, 2.0 * tail - point)
    return McNemar(int(a.size), only_a, only_b, p_exact, p_mid)


# ---------------------------------------------------------------------------
# Censored times
# ---------------------------------------------------------------------------


def kaplan_meier_median(times, reached):
    """Median time to an event from right-censored observations (Kaplan-Meier).

    Args:
        times: the event time where `reached`, else the last time observed.
        reached: whether each observation reached the event.

    Returns:
        The smallest event time at which the estimated survival (the fraction
        not yet there) falls to 0.5 or below; ``inf`` when it never does (fewer
        than half are known to get there); NaN with no observation.
    """
    times = np.asarray(times, dtype=float)
    reached = np.asarray(reached, dtype=bool)
    if times.size == 0:
        return math.nan
    survival = 1.0
    for t in np.unique(times[reached]):
        at_risk = int(np.sum(times >= t))
        events = int(np.sum((times == t) & reached))
        survival *= 1.0 - events / at_risk
        if survival <= 0.5 + 1e-12:
            return float(t)
    return math.inf


# ---------------------------------------------------------------------------
# Smoothness
# ---------------------------------------------------------------------------


def moving_average_residuals(values):
    """Residuals of a series around its centred 3-point moving average.

    ``r_i = x_i - (x_{i-1} + x_i + x_{i+1}) / 3`` for every interior point; a
    series shorter than 3 has none. A straight line has zero residuals, so a
    steady trend does not count as roughness.
    """
    x = np.asarray(values, dtype=float)
    if x.size < 3:
        return np.array([], dtype=float)
    return x[1:-1] - (x[:-2] + x[1:-1] + x[2:]) / 3.0


def residual_sd(segments):
    """Root mean square of the moving-average residuals pooled over several segments.

    Each segment is one stretch of a curve (one constant-learning-rate phase);
    residuals never straddle two segments. NaN when no segment has 3 points.
    The residuals are deviations from a local mean, so their mean square is
    taken about zero.
    """
    residuals = [moving_average_residuals(s) for s in segments]
    residuals = np.concatenate(residuals) if residuals else np.array([])
    residuals = residuals[np.isfinite(residuals)]
    return float(np.sqrt(np.mean(residuals**2))) if residuals.size else math.nan
