"""The report's Across budgets section: the same optimizers at each training budget, side by side.

The numbers and decisions come from `budgets` (each budget decided by its own
study); this module writes them down: the descriptive table, the paired
generalisation gaps, the test error along training against SGD-momentum (the
Padam paper's picture), each declared contrast's decision per budget and how it
moves, the claims' verdicts per budget, a plain sentence on whether the
ranking flips, and the two figures (curves of both budgets, the performance
profile across them).
"""

import math
from pathlib import PurePosixPath

from keras_resnet_opt.study import budgets, rate_check
from keras_resnet_opt.study.claims import BASELINE
from keras_resnet_opt.study.measures import ALONG_FRACTIONS, epoch_at
from keras_resnet_opt.study.report_claims import verdict_text
from keras_resnet_opt.study.report_contrasts import contrast_decision
from keras_resnet_opt.study.tables import fmt_interval, fmt_number, fmt_p, fmt_pm, markdown_table


def _budget_table(rows, workloads, variants):
    header = ["Optimizer"]
    for workload in workloads:
        header += [f"Test error % ({workload})", "Train loss", "Train error %", "Gen. gap (pp)"]
    table = []
    indexed = rows.set_index(["workload", "variant"]) if len(rows) else None
    for variant in variants:
        line = [variant]
        for workload in workloads:
            if indexed is None or (workload, variant) not in indexed.index:
                line += ["-", "-", "-", "-"]
                continue
            r = indexed.loc[(workload, variant)]
            line += [
                f"{fmt_pm(r['test_error_mean'], r['test_error_ci'], 100.0)} (n = {int(r['n'])})",
                fmt_pm(r["train_loss_mean"], r["train_loss_ci"], 1.0, digits=3),
                f"{r['train_error_mean'] * 100:.2f}" if math.isfinite(r["train_error_mean"]) else "n/a",
                fmt_pm(r["gen_gap_mean"], r["gen_gap_ci"], 100.0),
            ]
        table.append(line)
    return markdown_table(header, table).rstrip("\n")


def _interval_text(values):
    mean, low, high, n = values
    if not math.isfinite(mean):
        return "n/a"
    return f"{fmt_number(mean)} {fmt_interval(low, high)} (n = {n})"


def _ranking_sentence(order, changes):
    parts = [f"{w}: {' < '.join(v)}" for w, v in order.items()]
    text = "Ranking by mean final test error, best first (descriptive): " + "; ".join(parts) + "."
    reversed_ = [f"{a} - {b}" for a, b, _, move in changes if move == budgets.REVERSED]
    appears = [f"{a} - {b}" for a, b, _, move in changes if move == budgets.APPEARS]
    orders = [tuple(v) for v in order.values()]
    if reversed_:
        text += (
            f" **The ranking flips with budget**: {', '.join(reversed_)} {'is' if len(reversed_) == 1 else 'are'} "
            "decided one way at one budget and the other way at another (paired tests, Holm within each budget)."
        )
    elif len(set(orders)) > 1:
        text += (
            " The order of the means changes between budgets, but no declared contrast is decided in opposite "
            "directions at two budgets: **no flip is backed by a paired test**."
        )
    else:
        text += " The order of the means is the same at every budget, and no declared contrast reverses."
    if appears:
        text += f" Decided at one budget only: {', '.join(appears)}."
    return text


def _verdict_cell(verdict):
    text = verdict_text(verdict)
    if verdict.decidable:
        parts = "; ".join(f"{o.spec['part']}: {o.status}" for o in verdict.decidable)
        text += f" (the parts it can decide: {parts})"
    return text


def _rate_sources(analysis, workload):
    """The ``--hparams`` files the budget's runs took their rates from (their manifests' commands)."""
    sources = set()
    for run in analysis.study.ended_runs:
        if run.workload != workload:
            continue
        words = str((run.manifest or {}).get("command") or "").split()
        sources.update(words[i + 1] for i, w in enumerate(words[:-1]) if w == "--hparams")
    return sorted(sources)


def _folded_paths(paths):
    """Paths as table text, those that differ only in one folder (one search per variant) said once:
    ``results/t/sgd/best.json`` and ``results/t/adam/best.json`` become ``results/t/<variant>/best.json`` (2 files)."""
    groups = {}
    for path in map(PurePosixPath, paths):
        groups.setdefault((path.parent.parent, path.name), []).append(path)
    out = []
    for (parent, name), members in groups.items():
        if len(members) > 1:
            out.append(f"`{parent / '<variant>' / name}` ({len(members)} files)")
        else:
            out.append(f"`{members[0]}`")
    return out


def _settings_table(columns):
    """What differs between the budgets besides the epochs: each study's own target, margin and rates."""
    table = []
    for analysis, workload in columns:
        settings = analysis.declaration["settings"]
        rows = analysis.per_run[analysis.per_run["workload"] == workload] if workload is not None else []
        epochs = int(rows["epochs"].max()) if len(rows) else None
        target = settings.get("target_val_accuracy")
        margin = float(settings["speed_margin_pp"])
        in_epochs = margin * epochs / 100 if epochs else None
        margin_text = f"{margin:g} pp of the budget" + (
            f" ({in_epochs:g} epoch{'' if in_epochs == 1 else 's'})" if epochs else ""
        )
        rates = settings.get("learning_rates") or {}
        sources = _rate_sources(analysis, workload) if workload is not None else []
        hparams = "; ".join(_folded_paths(sources)) if sources else "as configured"
        table.append([
            budgets.budget_label(analysis, workload), f"`{analysis.path.name}`", str(epochs or "-"),
            f"{target * 100:g}%" if target is not None else "none", margin_text,
            ", ".join(f"{k}: {v}" for k, v in rates.items()) or "-", hparams,
        ])  # fmt: skip
    return markdown_table(
        ["Budget", "Study", "Epochs", "Speed target (val acc)", "Speed margin", "Rates declared", "Rates read from"],
        table,
    ).rstrip("\n")


def _along_lines(columns, workloads):
    """Test error along training for the contrasts against SGD-momentum, and where the paper's picture shows."""
    along = [(a, b, v) for a, b, v in budgets.along_contrasts(columns) if b == BASELINE]
    if not along:
        return []
    header = ["Contrast", "Budget"] + [f"at {label}" for label, _ in budgets.ALONG] + ["Reading"]
    table = [
        [f"{a} - {b}", label] + [_interval_text(v[w][point]) for point, _ in budgets.ALONG] + [budgets.picture(v[w])]
        for a, b, v in along
        for (_, w), label in zip(columns, workloads)
    ]
    epochs = "; ".join(
        f"{label}: epochs {', '.join(str(e) for e in _along_epochs(analysis, workload))}"
        for (analysis, workload), label in zip(columns, workloads)
        if workload is not None
    )
    return [
        f"Test error along training against {BASELINE}, paired by seed within each budget (mean difference a - b "
        "in pp at 25%, 50% and 100% of each budget's training, read after the epoch at or just past that "
        f"fraction ({epochs}); 95% paired t-interval). The Padam paper's picture is adaptive methods "
        "ahead early and behind at the end; the reading says where these intervals show a side (ahead early: "
        "below 0 at 25% or 50%; behind at the end: above 0 at 100%), and \"no clear difference\" is not "
        "evidence of none. Unadjusted intervals: this describes the curves and decides nothing. What is decided "
        "is claim (a), for adam and amsgrad, on other measures (time to the validation target; final test "
        "error, at budgets long enough for a claim about generalisation).",
        "",
        markdown_table(header, table).rstrip("\n"),
        "",
    ]


def _along_epochs(analysis, workload):
    """The epochs the `budgets.ALONG` points are read at, for the budget's planned epochs."""
    rows = analysis.per_run[analysis.per_run["workload"] == workload]
    total = int(rows["epochs"].max())
    return [epoch_at(fraction, total) for fraction in (*ALONG_FRACTIONS, 1.0)]


def budgets_section(columns, figures):
    """"## Across budgets": the lines, from `budgets.budgets(analyses)` and the saved figures' file names."""
    workloads = [budgets.budget_label(a, w) for a, w in columns]
    variants = budgets.shared_variants(columns)
    lines = [
        "## Across budgets",
        "",
        "The same comparison at each training budget, each budget its own study with its own seeds, pairing and "
        "declaration: runs are paired by seed within a budget, never across budgets, and every decision below is "
        "the one the budget's own study made. What each study declared for itself (a speed verdict at one budget "
        "answers a different question from one at another when the targets or margins differ):",
        "",
        _settings_table(columns),
        "",
    ]
    if not variants:
        return lines + ["No optimizer has finished runs at every budget yet.", ""]
    rows = budgets.budget_rows(columns, variants)
    lines += [
        _budget_table(rows, [w for _, w in columns], variants),
        "",
        "± is the unpaired 95% t-interval over seeds (descriptive). Gen. gap = final test error - final train "
        "error (train error on the augmented training batches of the last epoch).",
        "",
    ]
    missing = budgets.unshared_variants(columns)
    if missing:
        lines += [f"Not run at every budget, so left out of this section: {', '.join(missing)}.", ""]
    changes = budgets.contrast_changes(columns)
    if changes:
        table = []
        for a, b, outcomes, move in changes:
            line = [f"{a} - {b}"]
            for analysis, workload in columns:
                o = outcomes[workload]
                settings = analysis.declaration["settings"]
                if o is None or o.paired is None:
                    line.append("not run")
                    continue
                mean = o.paired.t.mean
                line.append(f"{mean:+.2f} pp: {contrast_decision(o, settings)}")
            table.append(line + [move])
        lines += [
            "Declared contrasts, final test error, as each budget's study decided them (paired mean difference "
            "a - b; Holm within each budget):",
            "",
            markdown_table(["Contrast"] + workloads + ["Across budgets"], table).rstrip("\n"),
            "",
        ]
        gaps = budgets.gap_contrasts(columns)
        lines += [
            "Generalisation gap of the same pairs, paired by seed within each budget (mean difference a - b in pp, "
            "95% paired t-interval; descriptive):",
            "",
            markdown_table(
                ["Contrast"] + workloads,
                [[f"{a} - {b}"] + [_interval_text(v[w]) for _, w in columns] for a, b, v in gaps],
            ).rstrip("\n"),
            "",
        ]
        lines += _along_lines(columns, workloads)
    lines += [_ranking_sentence(budgets.rankings(columns, variants), changes), ""]
    claim_rows = budgets.claim_rows(columns)
    if claim_rows:
        table = [[f"({claim['id']}) {claim['statement']}"] + [_verdict_cell(per[w]) for _, w in columns]
                 for claim, per in claim_rows]  # fmt: skip
        lines += [
            "Claims, as each budget's study decided them (the reasons and every test are in each study's report):",
            "",
            markdown_table(["Claim"] + workloads, table).rstrip("\n"),
            "",
        ]
    for kind, caption in (("budget_curves", "Both budgets"), ("budget_profile", "Performance profile")):
        if figures.get(kind):
            lines += [f"![{caption}]({figures[kind]})", ""]
    if figures.get("budget_profile"):
        lines += [
            "Performance profile: for each optimizer, the fraction of budgets at which its mean final test error "
            "is within a factor tau of the best optimizer's at that budget.",
            "",
        ]
    return lines


def rate_check_section(rows, study):
    """"## Was the tuned rate still right?": the rate check's runs beside the study's, from
    `rate_check.rate_check_rows`; no lines when the study has none finished."""
    if rows.empty:
        return []
    table = [[r.variant, str(r.seed), f"{r.learning_rate:.4g}", rate_check.factor_text(r.rate_factor),
              fmt_number(100.0 * r.val_error), fmt_number(100.0 * r.test_error), fmt_number(r.train_loss, 3)]
             for r in rows.itertuples()]  # fmt: skip
    lines = [
        "## Was the tuned rate still right at this budget?",
        "",
        f"Runs at other rates than the tuned one (`{rate_check.RATE_CHECK_DIR}/runs/`), each beside this study's run "
        "of the same optimizer and seed (final epoch; errors in %):",
        "",
        markdown_table(["Optimizer", "Seed", "Rate", "vs tuned", "Val error", "Test error", "Train loss"], table)
        .rstrip("\n"),
        "",
    ]
    ties = rate_check.ties_with_tuned(rows)
    for (variant, seed), (factor, difference) in rate_check.best_on_validation(rows).items():
        workload = rows.loc[rows["variant"] == variant, "workload"].iloc[0]
        spread = rate_check.seed_spread(study, variant, workload)
        # Two single runs differ by about sqrt(2) SD from a change of seed alone.
        spread_text = (f"a change of seed alone moves the difference between two single runs by about "
                       f"{100.0 * math.sqrt(2.0) * spread:.2f} pp here (sqrt(2) x the seed-to-seed SD of the final "
                       "validation error at the tuned rate)" if math.isfinite(spread)
                       else "the seed-to-seed spread is unknown (fewer than two seeds)")  # fmt: skip
        if rate_check.is_tuned(factor):
            tied = [rate_check.factor_text(f) for f in ties[(variant, seed)]]
            lowest = f"ties for the lowest final validation error with {', '.join(tied)}" if tied else (
                "has the lowest final validation error")
            lines.append(f"- {variant}, seed {seed}: the tuned rate {lowest}; {spread_text}.")
        else:
            checked = rows.loc[(rows["variant"] == variant) & (rows["seed"] == seed)]
            winner = checked.loc[checked["rate_factor"] == factor, "learning_rate"].iloc[0]
            # A winner at the end of the checked range says which way the optimum moved, not where it is.
            edge = (" It is the end of the checked range, so the optimum may lie further out."
                    if factor in (checked["rate_factor"].min(), checked["rate_factor"].max()) else "")
            lines.append(f"- {variant}, seed {seed}: the rate at {rate_check.factor_text(factor)} the tuned one "
                         f"({winner:.4g}) has the lowest final validation error, {-100.0 * difference:.2f} pp below "
                         f"the tuned rate's; {spread_text}.{edge}")  # fmt: skip
    lines += ["", "Each line is one seed: a check on whether the optimum moved with the budget, not a decision.", ""]
    return lines


def rate_follow_up_section(rows, declaration):
    """"### Declared follow-up at another rate": `rate_follow_up.follow_up_rows` as a table, and what it says."""
    unit = "pp"
    table = [[f"{r.a} - {r.b}", r.seeds or "-", f"{100.0 * r.mean:+.2f}" if r.n else "-",
              f"[{100.0 * r.low:+.2f}, {100.0 * r.high:+.2f}]" if math.isfinite(r.low) else "-",
              fmt_p(r.p), fmt_p(r.p_holm), r.reading] for r in rows.itertuples()]  # fmt: skip
    metric = declaration["metric"].replace("_", " ")
    lines = [
        "### Declared follow-up at another rate",
        "",
        f"Contrasts declared at {declaration['declared_at'] or 'an unrecorded time'}, before the follow-up's runs "
        f"had results (`{rate_check.RATE_CHECK_DIR}/declared.json`): final {metric}, paired by seed over seeds "
        f"{', '.join(str(s) for s in declaration['seeds'])}, mean a - b in {unit} with its 95% t-interval, Holm "
        f"over the {len(rows)} contrast(s), a difference where the Holm p is at most {declaration['alpha']:g}.",
        "",
        markdown_table(["Contrast", "Seeds", f"Mean ({unit})", "95% interval", "p", "Holm p", "Reading"], table)
        .rstrip("\n"),
        "",
    ]
    if (rows["reading"] == "pending").any():
        lines += ["Pending: not every contrast has all its declared seeds yet, so none is read.", ""]
    return lines


__all__ = ["budgets_section", "rate_check_section", "rate_follow_up_section"]
