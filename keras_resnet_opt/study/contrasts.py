"""Paired contrasts between two optimizers' runs, and the decision of each declared test.

A contrast ``a - b`` pairs the runs of a and b that share a seed (same initial
weights, data order and augmentation), in one workload, on one per-run
measure (`measures`), and tests the mean paired difference (`stats`). The
tests of one family (the declared contrasts; one claim's tests) are adjusted
together by Holm, and each is decided by its form:

- difference: two-sided paired t. With the Holm-adjusted p <= alpha the
  difference is clear: it *holds* when its sign is the claimed one and is
  *contradicted* otherwise; else *inconclusive*.
- equivalence: TOST against ``±margin``; *holds* when the Holm-adjusted TOST
  p <= alpha (unadjusted, that is the 90% paired interval inside the
  margin); *contradicted* when the difference is clearly outside the margin
  (the one-sided test against the nearer edge, Bonferroni-adjusted over the
  family); else *inconclusive*.
- non-inferiority (a not worse than b by more than the margin; every measure
  is better when lower): *holds* when the one-sided test of ``a - b <
  margin`` passes Holm; *contradicted* when ``a - b > margin`` is clear
  (Bonferroni); else *inconclusive*.

With fewer paired seeds than the study's ``min_seeds`` a test says "too few
seeds" and stays out of its family. A test on time to target is run on the
restricted time (`measures`), in which a run that never reached the target
ranks behind every run that did; an equivalence or non-inferiority test on
it is not decided when some seed has neither run reaching the target
(their difference is unknown, and counting it as zero would favour "like").
"""

import dataclasses
import math

from keras_resnet_opt.study import claim_schema, stats
from keras_resnet_opt.study.runs import seed_key

HOLDS = "holds"
CONTRADICTED = "contradicted"
INCONCLUSIVE = "inconclusive"
TOO_FEW_SEEDS = "too few seeds"
NOT_RUN = "not run"
NO_TARGET = "no target"
BOTH_CENSORED = "both censored"
# A test with one of these statuses lacks the seeds a decision needs.
SHORT_OF_SEEDS = (TOO_FEW_SEEDS, BOTH_CENSORED)

CENSORED_METRICS = ("time_to_target",)


@dataclasses.dataclass(frozen=True)
class Paired:
    """The paired values of a contrast ``a - b`` on one measure, in the measure's unit.

    Attributes:
        workload, a, b, metric: what is compared.
        seeds: the seeds both ran, sorted.
        a_values, b_values: the measure per seed (scaled to its unit: pp, loss).
        a_reached, b_reached: for time to target, whether each run reached it.
        resolution: the unit a measure is recorded in (one epoch, in pp of
            the budget, for time to target; 0 for a continuous measure): the
            t-tests never use a standard deviation below what rounding to it
            allows (`stats.rounding_sd`).
    """

    workload: str
    a: str
    b: str
    metric: str
    seeds: tuple
    a_values: tuple
    b_values: tuple
    a_reached: tuple = ()
    b_reached: tuple = ()
    resolution: float = 0.0

    @property
    def differences(self):
        return tuple(x - y for x, y in zip(self.a_values, self.b_values))

    @property
    def t(self):
        return stats.paired_t(self.differences, stats.rounding_sd(self.resolution))

    @property
    def n(self):
        return self.t.n

    @property
    def unit(self):
        return claim_schema.METRICS[self.metric][0]

    @property
    def both_censored_seeds(self):
        return tuple(s for s, x, y in zip(self.seeds, self.a_reached, self.b_reached) if not x and not y)


def variants_in(measures, workload):
    return set(measures.loc[measures["workload"] == workload, "variant"])


def paired(measures, workload, a, b, metric):
    """The `Paired` values of ``a - b`` over the seeds both ran, or None when either was not run.

    Args:
        measures: the frame from `measures.run_measures`.
        workload: the workload label.
        a, b: variant labels.
        metric: a key of `claim_schema.METRICS`.
    """
    rows = measures[measures["workload"] == workload]
    scale = claim_schema.METRICS[metric][1]
    by_variant = {}
    for variant in (a, b):
        own = rows[rows["variant"] == variant].sort_values("run").drop_duplicates("seed", keep="first")
        if own.empty:
            return None
        by_variant[variant] = own.set_index("seed")
    seeds = sorted(set(by_variant[a].index) & set(by_variant[b].index), key=seed_key)
    values = {v: tuple(float(by_variant[v].loc[s, metric]) * scale for s in seeds) for v in (a, b)}
    reached, resolution = {}, 0.0
    if metric in CENSORED_METRICS:
        reached = {v: tuple(bool(by_variant[v].loc[s, "target_reached"]) for s in seeds) for v in (a, b)}
        epochs = rows["epochs"].max() if "epochs" in rows.columns else math.nan
        resolution = scale / float(epochs) if epochs and math.isfinite(float(epochs)) else 0.0
    return Paired(
        workload, a, b, metric, tuple(seeds), values[a], values[b], reached.get(a, ()), reached.get(b, ()),
        resolution,
    )


@dataclasses.dataclass(frozen=True)
class Outcome:
    """One declared test, evaluated.

    Attributes:
        spec: the declared test (see `claim_schema`), a dict.
        paired: its `Paired` values, None when an optimizer was not run.
        margin: the margin used (the measure's unit), None for a difference.
        p: the test's own p (two-sided for a difference, TOST for an
            equivalence, one-sided for a non-inferiority); NaN when not tested.
        p_adjusted: Holm-adjusted within its family; NaN outside the family.
        p_against: p of the opposite conclusion (adjusted), for contradiction.
        family_size: how many tests the family adjusted over.
        status: one of the status constants of this module.
    """

    spec: dict
    paired: Paired | None
    margin: float | None
    p: float
    p_adjusted: float
    p_against: float
    family_size: int
    status: str

    @property
    def form(self):
        return self.spec["form"]

    @property
    def decided(self):
        return self.status in (HOLDS, CONTRADICTED, INCONCLUSIVE)


def _margin(spec, settings):
    if spec["form"] == claim_schema.DIFFERENCE:
        return None
    if spec.get("margin") is not None:
        return float(spec["margin"])
    key = "speed_margin_pp" if spec["metric"] == "time_to_target" else "equivalence_margin_pp"
    return float(settings[key])


def _own_p(spec, t, margin):
    if spec["form"] == claim_schema.DIFFERENCE:
        return t.p_two_sided(0.0)
    if spec["form"] == claim_schema.EQUIVALENCE:
        return stats.tost_p(t, margin)
    return t.p_less(margin)


def _against_p(spec, t, margin):
    if spec["form"] == claim_schema.EQUIVALENCE:
        return stats.outside_margin_p(t, margin)
    if spec["form"] == claim_schema.NON_INFERIORITY:
        return t.p_greater(margin)
    return math.nan


def _precheck(spec, pair, settings):
    """The status of a test that cannot enter its family, or None when it can."""
    if pair is None:
        return NOT_RUN
    if spec["metric"] in CENSORED_METRICS and settings.get("target_val_accuracy") is None:
        return NO_TARGET
    if pair.n < int(settings["min_seeds"]):
        return TOO_FEW_SEEDS
    if spec["form"] != claim_schema.DIFFERENCE and pair.both_censored_seeds:
        return BOTH_CENSORED
    return None


def evaluate_family(specs, measures, workload, settings):
    """Evaluate declared tests as one Holm family in one workload.

    Args:
        specs: test dicts (``a``, ``b``, ``metric``, ``form``, ``direction``,
            ``margin``; see `claim_schema`).
        measures: the frame from `measures.run_measures`.
        workload: the workload label.
        settings: the declaration's settings (alpha, min_seeds, margins, target).

    Returns:
        A list of `Outcome`, in the order of `specs`.
    """
    alpha = float(settings["alpha"])
    pairs = [paired(measures, workload, s["a"], s["b"], s["metric"]) for s in specs]
    margins = [_margin(s, settings) for s in specs]
    early = [_precheck(s, p, settings) for s, p in zip(specs, pairs)]
    own = [
        _own_p(s, p.t, m) if p is not None and p.n >= 2 else math.nan for s, p, m in zip(specs, pairs, margins)
    ]
    in_family = [e is None and math.isfinite(p) for e, p in zip(early, own)]
    adjusted = stats.holm([p if ok else math.nan for p, ok in zip(own, in_family)])
    size = sum(in_family)
    results = []
    for spec, pair, margin, status, p, p_adj, ok in zip(specs, pairs, margins, early, own, adjusted, in_family):
        against = math.nan
        if ok:
            if spec["form"] != claim_schema.DIFFERENCE:  # Bonferroni: a little stricter than Holm
                against = min(1.0, _against_p(spec, pair.t, margin) * size)
            status = _decide(spec, pair.t, p_adj, against, alpha)
        elif status is None:
            status = TOO_FEW_SEEDS  # fewer than two pairs: no test at all
        results.append(Outcome(spec, pair, margin, p, p_adj if ok else math.nan, against, size, status))
    return results


def _decide(spec, t, p_adjusted, p_against, alpha):
    if spec["form"] == claim_schema.DIFFERENCE:
        if not p_adjusted <= alpha:
            return INCONCLUSIVE
        claimed = spec.get("direction")
        sign = "lower" if t.mean < 0 else "higher"
        if claimed is None:
            return sign  # a declared contrast: no claimed direction, only which way it differs
        return HOLDS if sign == claimed else CONTRADICTED
    if p_adjusted <= alpha:
        return HOLDS
    if p_against <= alpha:
        return CONTRADICTED
    return INCONCLUSIVE


def contrast_specs(contrasts):
    """Declared contrasts as difference tests on final test error (no claimed direction)."""
    return [
        {"part": c["id"], "a": c["a"], "b": c["b"], "metric": "test_error", "form": claim_schema.DIFFERENCE,
         "direction": None, "margin": None, "generalisation": False, "if_run": False}
        for c in contrasts
    ]  # fmt: skip


def secondary_table(measures, workload, pairs, metrics=("train_loss_25", "train_loss_50", "train_loss_100",
                                                         "time_to_target", "smoothness_test", "smoothness_val")):
    """Paired mean differences and 95% intervals of further measures, per contrast (descriptive).

    Returns:
        ``[(a, b, {metric: Paired or None})]`` for the given ``(a, b)`` pairs.
    """
    return [(a, b, {m: paired(measures, workload, a, b, m) for m in metrics}) for a, b in pairs]


def finite_interval(pair, confidence=stats.CONFIDENCE):
    """``(mean, low, high)`` of a pair's differences; NaNs when undefined."""
    if pair is None or pair.n == 0:
        return math.nan, math.nan, math.nan
    t = pair.t
    low, high = t.interval(confidence)
    return t.mean, low, high


__all__ = [
    "Paired",
    "Outcome",
    "contrast_specs",
    "evaluate_family",
    "finite_interval",
    "paired",
    "secondary_table",
    "HOLDS",
    "CONTRADICTED",
    "INCONCLUSIVE",
    "TOO_FEW_SEEDS",
    "NOT_RUN",
    "NO_TARGET",
    "BOTH_CENSORED",
    "SHORT_OF_SEEDS",
]
