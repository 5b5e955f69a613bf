"""The report's Paired contrasts section: each declared contrast, its other measures, its test-set noise.

A contrast is decided in `contrasts` (the paired t-test over seeds, Holm over
the family); this section writes the decision down with the numbers behind
it, then the same pairs on the measures that decide nothing here (loss at
25/50/100% of training, time to target, smoothness), then McNemar on one
seed's pair of runs: how much of a difference the test images alone could
make, and last how many seeds a next study would need at this study's own
seed-to-seed spread (planning; it decides nothing).
"""

import math

from keras_resnet_opt.study import claim_schema, contrasts, planning, stats
from keras_resnet_opt.study.runs import seed_key
from keras_resnet_opt.study.tables import fmt_interval, fmt_p, fmt_value, markdown_table
from keras_resnet_opt.training.run_folder import read_test_predictions


def metric_digits(metric):
    """Decimals a measure's differences are shown with: 3 for a loss, 2 for percentage points."""
    return 3 if claim_schema.METRICS[metric][0] == "loss" else 2


def decision_kind(outcome):
    """A declared contrast's decision as the forest plot draws it: "differs", "no clear difference" or
    "too few seeds" (`plots.FOREST_STYLES`)."""
    if outcome.status in ("lower", "higher"):
        return "differs"
    return "no clear difference" if outcome.status == contrasts.INCONCLUSIVE else "too few seeds"


def contrast_decision(outcome, settings):
    """The decision column of the contrasts table, in words."""
    kind = decision_kind(outcome)
    if kind == "differs":
        return f"differs: {outcome.spec['a']} {outcome.status}"
    if kind == "no clear difference":
        return "no clear difference (inconclusive)"
    if outcome.status == contrasts.TOO_FEW_SEEDS:
        n = outcome.paired.n if outcome.paired is not None else 0
        return f"too few seeds ({n} < {settings['min_seeds']})"
    return outcome.status


def _contrast_rows(outcomes, settings):
    rows = []
    for o in outcomes:
        pair = o.paired
        if pair is None:
            rows.append([f"{o.spec['a']} - {o.spec['b']}", "0", "-", "-", "-", "-", "not run"])
            continue
        mean, low, high = contrasts.finite_interval(pair)
        rows.append(
            [
                f"{o.spec['a']} - {o.spec['b']}",
                f"{pair.n} ({', '.join(str(s) for s in pair.seeds)})",
                fmt_value(mean, digits=2),
                fmt_interval(low, high),
                fmt_p(o.p),
                fmt_p(o.p_adjusted),
                contrast_decision(o, settings),
            ]
        )
    return rows


SECONDARY = (
    ("train_loss_25", "Train loss at 25%"),
    ("train_loss_50", "at 50%"),
    ("train_loss_100", "at 100%"),
    ("time_to_target", "Time to target (pp of budget)"),
    ("smoothness_test", "Smoothness, test (pp)"),
    ("smoothness_val", "Smoothness, val (pp)"),
)


def _secondary_rows(per_run, workload, outcomes):
    pairs = [(o.spec["a"], o.spec["b"]) for o in outcomes if o.paired is not None]
    rows = []
    for a, b, by_metric in contrasts.secondary_table(per_run, workload, pairs, [m for m, _ in SECONDARY]):
        row = [f"{a} - {b}"]
        for metric, _ in SECONDARY:
            mean, low, high = contrasts.finite_interval(by_metric[metric])
            digits = metric_digits(metric)
            row.append("n/a" if not math.isfinite(mean) else f"{mean:.{digits}f} {fmt_interval(low, high, digits)}")
        rows.append(row)
    return rows


def mcnemar_for(study, workload, a, b, seed=0):
    """McNemar on one seed's pair of runs: ``(seed, McNemar or None, note)``.

    Uses seed `seed` when both ran it, else the smallest seed both ran. The
    note says why there is no test ("no predictions saved", ...).
    """
    runs = {}
    for run in study.ended_runs:
        if run.workload == workload and run.variant in (a, b):
            runs.setdefault((run.variant, run.config.get("seed")), run)
    shared = sorted({s for v, s in runs if v == a} & {s for v, s in runs if v == b}, key=seed_key)
    if not shared:
        return None, None, "no seed run by both"
    chosen = seed if seed in shared else shared[0]
    loaded = [read_test_predictions(runs[(v, chosen)].path) for v in (a, b)]
    if any(x is None for x in loaded):
        missing = [v for v, x in zip((a, b), loaded) if x is None]
        return chosen, None, f"no predictions saved ({', '.join(missing)})"
    (pred_a, labels_a), (pred_b, labels_b) = loaded
    if labels_a.shape != labels_b.shape or not (labels_a == labels_b).all():
        return chosen, None, "the two runs' test labels differ (not the same test images in the same order)"
    return chosen, stats.mcnemar(pred_a == labels_a, pred_b == labels_b), ""


def _mcnemar_rows(study, workload, outcomes):
    rows = []
    for o in outcomes:
        a, b = o.spec["a"], o.spec["b"]
        if o.paired is None:
            continue
        seed, test, note = mcnemar_for(study, workload, a, b)
        if test is None:
            rows.append([f"{a} - {b}", "-" if seed is None else str(seed), note, "", "", "", ""])
            continue
        rows.append(
            [
                f"{a} - {b}",
                str(seed),
                str(test.only_a),
                str(test.only_b),
                f"{-test.accuracy_difference * 100:.2f} ± {test.accuracy_difference_half_width() * 100:.2f}",
                fmt_p(test.p_exact),
                fmt_p(test.p_mid),
            ]
        )
    return rows


def planning_lines(outcomes, settings):
    """The planning paragraph and table of one workload (`planning`): seeds a next study needs; decides nothing."""
    plan = planning.planning(outcomes, settings)
    if plan is None:
        return []
    rows = []
    for question, level, power in plan.questions():
        needed = plan.seeds_needed(power)
        text = f"about {needed}" if needed is not None else f"more than {planning.MOST_SEEDS}"
        rows.append([question, f"{level:.3g}", text, f"{power(plan.ran):.0%}"])
    lines = [
        f"Seeds for a next study (planning, from this study's own spread; it decides nothing). The paired "
        f"differences of final test error vary by {plan.sd:.2f} pp from seed to seed (pooled over {plan.pooled} "
        f"declared contrasts, df = {plan.df}; 95% interval of that SD {plan.sd_low:.2f} to {plan.sd_high:.2f} pp, "
        "and the contrasts share runs, so it is less certain than its df say). Taking it as the true spread, the "
        f"paired seeds a test needs to find each of these {planning.POWER:.0%} of the time, and the chance this "
        f"study's {plan.ran} had (a difference among the {plan.m} contrasts at alpha / {plan.m}, Holm's strictest "
        f"step, so those counts are upper bounds; none below the study's minimum of {plan.floor}):",
        "",
        markdown_table(["To find", "Test level", f"Paired seeds for {planning.POWER:.0%}", f"Power with {plan.ran}"],
                       rows).rstrip("\n"),  # fmt: skip
        "",
    ]
    if plan.decides:
        family, alone = plan.detectable_texts()
        lines += [
            f"With its own {plan.ran} seeds, this study finds a true difference {planning.POWER:.0%} of the time "
            f"only when it is {family} or more among the {plan.m} contrasts, or {alone} in a claim of one test; "
            "smaller real differences mostly end inconclusive.",
            "",
        ]
    return lines


def _family_lines(outcomes, settings):
    """The Holm family the table's adjusted p's belong to, and where else the same pairs are tested."""
    sizes = [o.family_size for o in outcomes if math.isfinite(o.p_adjusted)]
    if not sizes:
        return [f"No contrast has {settings['min_seeds']} paired seeds yet: none is adjusted or decided.", ""]
    waiting = len(outcomes) - len(sizes)
    text = f"Holm family: the {max(sizes)} contrast(s) with at least {settings['min_seeds']} paired seeds"
    if waiting:
        text += f"; the other {waiting} wait for seeds and are neither adjusted nor decided"
    return [
        text + ". A claim below may test the same pair again inside its own family, with its own Holm p: each "
        "family controls its own error rate, not the report's as a whole.",
        "",
    ]


def contrasts_section(study, per_run, evaluations, figures, declaration):
    """"## Paired contrasts": per workload, the declared family, its forest plot, other measures, McNemar."""
    settings = declaration["settings"]
    lines = [
        "## Paired contrasts",
        "",
        "Runs pair up by seed: a seed fixes the initial weights, the data order and the augmentation for every "
        "optimizer alike. Each contrast is the mean over the seeds both optimizers ran of (a - b) in final test "
        "error, with its paired 95% t-interval (df = n - 1), the two-sided paired t-test p and its Holm-adjusted "
        "p over the declared contrasts. A contrast \"differs\" only when the Holm-adjusted p is at most alpha; "
        "an interval is never compared with another interval.",
        "",
    ]
    several = len(evaluations) > 1
    for workload, evaluation in evaluations.items():
        if several:
            lines += [f"### {workload}", ""]
        outcomes = evaluation["contrasts"]
        lines += [
            markdown_table(
                ["Contrast (a - b)", "Paired seeds", "Mean difference (pp)", "95% paired CI (pp)", "p", "Holm p",
                 "Decision"],  # fmt: skip
                _contrast_rows(outcomes, settings),
            ),
            "",
        ]
        lines += _family_lines(outcomes, settings)
        path = figures.get("contrasts", {}).get(workload)
        if path:
            lines += [
                f"![Paired contrasts, {workload}]({path})",
                "",
                "Forest plot: paired mean difference of final test error with its unadjusted 95% t-interval, drawn "
                "by the decision above (filled: differs; open: no clear difference; light grey: too few seeds). "
                "The decision uses the Holm-adjusted p, so an interval that misses zero can still be undecided.",
                "",
            ]
        secondary = _secondary_rows(per_run, workload, outcomes)
        if secondary:
            lines += [
                "Other paired measures, same pairs (mean difference a - b [95% paired t-interval]; descriptive, none "
                "of these decides a contrast; claims that use one say so). Time to target is the restricted time: a "
                "run that never reached the target counts as reaching it one epoch after the end.",
                "",
                markdown_table(["Contrast"] + [label for _, label in SECONDARY], secondary),
                "",
            ]
        mcnemar = _mcnemar_rows(study, workload, outcomes)
        if mcnemar:
            lines += [
                "Test-set noise, seed-0 pair: how much of a difference the 10,000 test images alone can produce. "
                "Counts of test images only a (only b) classifies correctly, the test-error difference a - b with "
                "the 95% interval from resampling test images alone, and the exact McNemar test (binomial test of "
                "the discordant images; mid-p beside it). Informational: it decides no claim.",
                "",
                markdown_table(
                    ["Contrast", "Seed", "Only a right", "Only b right", "Test-error difference (pp)", "McNemar p",
                     "mid-p"],  # fmt: skip
                    mcnemar,
                ),
                "",
            ]
        lines += planning_lines(outcomes, settings)
    return lines
