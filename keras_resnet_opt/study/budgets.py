"""The same comparison at several training budgets: what changes between them, decided per budget.

The cpu-budget study runs at 10 epochs and again at 30 (``results/cpu-budget``
and ``results/cpu-budget-30``): the Padam paper's claims that adaptive methods
"converge faster but generalise worse" are about a regime the shorter budget
never reaches. Each budget is its own study with its own declaration and its
own pairing (seed s at 10 epochs and seed s at 30 share nothing), so nothing
here pairs runs across budgets or re-decides a test: every decision is the one
the budget's own study made (`analysis.analyse`), and this module lines them
up:

- `budget_rows`: per variant run at every budget, final test error, final
  train loss and error, and the generalisation gap (test error - train
  error), each with its unpaired interval over seeds (descriptive);
- `gap_contrasts`: the gap of each declared contrast ``a - b``, paired by
  seed within each budget (descriptive: no claim is decided on it);
- `along_contrasts` and `picture`: each declared contrast's test-error
  difference at 25%, 50% and 100% of training, paired by seed within each
  budget, and whether it shows the Padam paper's picture, ``a`` ahead early
  and behind at the end (descriptive: it decides nothing);
- `contrast_changes`: each contrast declared at every budget, its decision at
  each, and whether the decision reverses (significant one way at one budget
  and the other way at another), appears, or stays;
- `rankings`: the order of the means at each budget (descriptive);
- `claim_rows`: each claim declared at every budget with its verdict at each.
"""

import math

import pandas as pd

from keras_resnet_opt.study import contrasts
from keras_resnet_opt.study.runs import variant_sort_key

DIRECTIONS = ("lower", "higher")
# How a contrast's decision moves from one budget to the next.
REVERSED = "reversed"
APPEARS = "decided at one budget only"
SAME = "same decision"
UNDECIDED = "undecided at every budget"
NOT_EVERYWHERE = "not run at every budget"


def budgets(analyses):
    """``[(analysis, workload)]``: every workload of every study, in the order given (one column each).

    A study with no finished run yet keeps its column, with workload None, so
    that nothing is compared "across budgets" while one budget has nothing.
    """
    return [(a, w) for a in analyses for w in (a.workloads or (None,))]


def budget_label(analysis, workload):
    """A column's name: the workload label, or the study's folder while it has no finished run."""
    return workload if workload is not None else f"{analysis.path.name} (no finished run yet)"


def _main_variants(analysis, workload):
    """The main variants one budget ran (none for a study with no finished run)."""
    summary = analysis.summary
    return set(summary.loc[(summary["workload"] == workload) & summary["main"].astype(bool), "variant"])


def shared_variants(columns):
    """The main variants every budget ran, in the optimizers' order."""
    sets = [_main_variants(a, w) for a, w in columns]
    return sorted(set.intersection(*sets) if sets else set(), key=variant_sort_key)


def unshared_variants(columns):
    """The main variants some budget ran and another did not, in the optimizers' order."""
    seen = set().union(*(_main_variants(a, w) for a, w in columns))
    return sorted(seen - set(shared_variants(columns)), key=variant_sort_key)


def budget_rows(columns, variants=None):
    """One row per (budget, variant): the descriptive numbers both budgets are compared on.

    Returns:
        A DataFrame with workload, epochs, variant, n, test_error_mean/ci,
        train_loss_mean/ci, train_error_mean, gen_gap_mean/ci (fractions; ci =
        half-width of the unpaired 95% t-interval).
    """
    variants = shared_variants(columns) if variants is None else variants
    rows = []
    for analysis, workload in columns:
        summary = analysis.summary.set_index(["workload", "variant"])
        per_run = analysis.per_run[analysis.per_run["workload"] == workload]
        epochs = int(per_run["epochs"].max()) if len(per_run) else 0
        for variant in variants:
            if (workload, variant) not in summary.index:
                continue
            s = summary.loc[(workload, variant)]
            rows.append({
                "workload": workload, "epochs": epochs, "variant": variant, "n": int(s["n"]),
                "test_error_mean": s["test_error_mean"], "test_error_ci": s["test_error_ci"],
                "train_loss_mean": s["train_loss_mean"], "train_loss_ci": s["train_loss_ci"],
                "train_error_mean": s["train_error_mean"],
                "gen_gap_mean": s["gen_gap_mean"], "gen_gap_ci": s["gen_gap_ci"],
            })  # fmt: skip
    return pd.DataFrame(rows)


def _declared_pairs(analysis):
    return [(c["a"], c["b"]) for c in analysis.declaration["contrasts"]]


def shared_contrasts(columns):
    """The contrasts ``(a, b)`` every budget's study declared, in the first study's order."""
    if not columns:
        return []
    first = _declared_pairs(columns[0][0])
    return [pair for pair in first if all(pair in _declared_pairs(a) for a, _ in columns[1:])]


def _paired_interval(analysis, workload, a, b, metric):
    """``(mean, low, high, n)`` of the paired ``a - b`` on `metric` within one budget (NaN and 0 when not run)."""
    pair = contrasts.paired(analysis.per_run, workload, a, b, metric)
    mean, low, high = contrasts.finite_interval(pair)
    return mean, low, high, 0 if pair is None else pair.n


def gap_contrasts(columns, pairs=None):
    """Paired generalisation gap ``a - b`` per budget: ``[(a, b, {workload: (mean, low, high, n)})]`` in pp."""
    pairs = shared_contrasts(columns) if pairs is None else pairs
    return [(a, b, {w: _paired_interval(analysis, w, a, b, "gen_gap") for analysis, w in columns}) for a, b in pairs]


# Where along training the test error is compared (`measures`), and how the comparison reads.
ALONG = (("25%", "test_error_25"), ("50%", "test_error_50"), ("100%", "test_error"))
PICTURE = "ahead early, behind at the end: the paper's picture"
NOT_AVAILABLE = "n/a"


def along_contrasts(columns, pairs=None):
    """Paired test error ``a - b`` along training per budget: ``[(a, b, {workload: {label: (mean, low, high, n)}})]``.

    In pp, at the `ALONG` points (`measures.ALONG_FRACTIONS` of each run's
    own budget, then the end).
    """
    pairs = shared_contrasts(columns) if pairs is None else pairs
    return [
        (a, b, {w: {label: _paired_interval(analysis, w, a, b, metric) for label, metric in ALONG}
                for analysis, w in columns})
        for a, b in pairs
    ]  # fmt: skip


def picture(along):
    """How one budget's `along_contrasts` entry reads: where ``a`` is ahead of or behind ``b``, early and at the end.

    Early is 25% or 50% of training: ``a`` is "ahead early" when the 95%
    paired interval of ``a - b`` lies below 0 at either (and "behind early"
    when it lies above 0 at either and below at neither); at the end, when
    it lies below (above) 0 at 100%. Otherwise that part has no clear
    difference, which is not evidence of none. `PICTURE` is the Padam
    paper's: ahead early, behind at the end. Unadjusted intervals, so this
    describes the curves and decides nothing; "n/a" when a point has no
    interval (fewer than two pairs).
    """
    if any(not (math.isfinite(low) and math.isfinite(high)) for _, low, high, _ in along.values()):
        return NOT_AVAILABLE

    def side(labels):
        if any(along[label][2] < 0 for label in labels):
            return "ahead"
        return "behind" if any(along[label][1] > 0 for label in labels) else None

    early, end = side(("25%", "50%")), side(("100%",))
    if (early, end) == ("ahead", "behind"):
        return PICTURE
    return ", ".join((
        f"{early} early" if early else "no clear difference early",
        f"{end} at the end" if end else "no clear difference at the end",
    ))  # fmt: skip


def _outcome(analysis, workload, a, b):
    for outcome in analysis.evaluations[workload]["contrasts"]:
        if (outcome.spec["a"], outcome.spec["b"]) == (a, b):
            return outcome
    return None


def movement(statuses):
    """How a contrast's decisions move across budgets (`REVERSED`, `APPEARS`, `SAME`, `UNDECIDED`,
    `NOT_EVERYWHERE`)."""
    if contrasts.NOT_RUN in statuses:
        return NOT_EVERYWHERE
    decided = [s for s in statuses if s in DIRECTIONS]
    if not decided:
        return UNDECIDED
    if len(set(decided)) > 1:
        return REVERSED
    return SAME if len(decided) == len(statuses) else APPEARS


def contrast_changes(columns, pairs=None):
    """Each contrast declared at every budget, with each budget's own decision on final test error.

    Returns:
        ``[(a, b, {workload: Outcome or None}, movement)]``.
    """
    pairs = shared_contrasts(columns) if pairs is None else pairs
    out = []
    for a, b in pairs:
        outcomes = {w: _outcome(analysis, w, a, b) if w is not None else None for analysis, w in columns}
        statuses = [o.status if o is not None else contrasts.NOT_RUN for o in outcomes.values()]
        out.append((a, b, outcomes, movement(statuses)))
    return out


def rankings(columns, variants=None):
    """``{workload: [variant, ...]}``: the shared variants by mean final test error, best first (descriptive)."""
    rows = budget_rows(columns, variants)
    out = {}
    for workload, group in rows.groupby("workload", sort=False):
        finite = group[group["test_error_mean"].map(lambda v: math.isfinite(float(v)))]
        out[workload] = list(finite.sort_values(["test_error_mean", "variant"])["variant"])
    return out


def claim_rows(columns, claim_ids=None):
    """Claims declared at every budget, with the same statement: ``[(claim, {workload: ClaimVerdict})]`` in
    declared order.

    Args:
        claim_ids: restrict to these claim ids (e.g. the budget question's
            ("a", "b", "d")); None for every shared claim.
    """
    if not columns:
        return []
    out = []
    for claim in columns[0][0].declaration["claims"]:
        if claim_ids is not None and claim["id"] not in claim_ids:
            continue
        per_budget = {}
        for analysis, workload in columns:
            # The same id stated differently is a different hypothesis: it is not lined up.
            found = [v for v in analysis.evaluations[workload]["claims"]
                     if v.claim["id"] == claim["id"] and v.claim["statement"] == claim["statement"]]  # fmt: skip
            per_budget[workload] = found[0] if found else None
        if all(v is not None for v in per_budget.values()):
            out.append((claim, per_budget))
    return out


__all__ = [
    "APPEARS", "NOT_EVERYWHERE", "REVERSED", "SAME", "UNDECIDED", "budget_label", "budget_rows", "budgets",
    "claim_rows", "unshared_variants", "contrast_changes",
    "gap_contrasts", "movement", "rankings", "shared_contrasts", "shared_variants",
]  # fmt: skip
