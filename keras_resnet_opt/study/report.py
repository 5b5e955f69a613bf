"""The study report: setup, runs, pre-registration, results, paired contrasts, claims, caveats.

``write_report(study_dir)`` reads ``study_dir/runs/*`` and ``study.json`` and
writes, under ``study_dir``: ``report.md``, ``summary.csv``/``.md``/``.tex``
(the descriptive table), ``contrasts.csv`` (every paired test with its
numbers), ``curves.csv`` and the figures (PNG, and PDF on request). Every
file is written atomically, and the report holds no timestamp of its own
(only the declaration times study.json records): the same runs give the same
``report.md`` bytes.

What the report decides, it decides as a referee would: only what the study
declared before its runs (`claims`; anything declared later is marked
"added after the results"), on differences paired by seed (`contrasts`),
with Holm's adjustment within each family, equivalence only by TOST against
the declared margin, speed on steps to a validation-accuracy target
(`measures`), and a claim in a setting that cannot decide it says so
(`verdicts`). No verdict anywhere comes from whether two intervals overlap.
"""

import math
import re
from pathlib import Path

import pandas as pd

from keras_resnet_opt.atomic import write_text
from keras_resnet_opt.study import aggregate, contrasts, measures, plots, published, stats, verdicts
from keras_resnet_opt.study import claims as claims_module
from keras_resnet_opt.study.runs import is_main_variant, load_study, read_test_predictions, variant_of, variant_sort_key

# Fewer epochs than this is "few" next to the published 164-200 epoch recipes.
FEW_EPOCHS = 100

VERDICT_TEXT = {
    verdicts.HOLDS: "Holds",
    verdicts.CONTRADICTED: "Contradicted",
    verdicts.INCONCLUSIVE: "Inconclusive",
    verdicts.TOO_FEW_SEEDS: "Not decided: too few seeds",
    verdicts.WRONG_REGIME: "Not decided: this setting cannot decide it",
    verdicts.NOT_TESTABLE: "Not testable",
}


def _pct(mean, half):
    return aggregate.fmt_pm(mean, half, 100.0) + " %"


def _rows_by_variant(summary, workload):
    rows = summary[summary["workload"] == workload]
    return {r.variant: r for r in rows.itertuples(index=False)}


def _num(value, digits=2):
    return aggregate.fmt_value(value, digits=digits)


def _p(value):
    if value is None or not math.isfinite(value):
        return "-"
    return "< 0.0001" if value < 1e-4 else f"{value:.4f}"


def _p_is(name, value):
    """"p = 0.0123" or "p < 0.0001" (for sentences; tables use `_p`)."""
    text = _p(value)
    return f"{name} {text}" if text.startswith("<") else f"{name} = {text}"


def _interval(low, high, digits=2):
    if not (math.isfinite(low) and math.isfinite(high)):
        return "n/a"
    return f"[{low:.{digits}f}, {high:.{digits}f}]"


def _digits(metric):
    return 3 if claims_module.METRICS[metric][0] == "loss" else 2


def _distinct(values):
    """The distinct values, formatted, numbers in numeric order, joined by commas."""
    seen = {aggregate.fmt_setting(v) if not isinstance(v, (list, tuple)) else str(list(v)) for v in values}

    def key(text):
        try:
            return (0, float(text), text)
        except ValueError:
            return (1, 0.0, text)

    return ", ".join(sorted(seen, key=key)) if seen else "n/a"


def _slug(text):
    return re.sub(r"[^a-z0-9]+", "-", str(text).lower()).strip("-")


def _figure_name(stem, workload, several):
    return f"{stem}-{_slug(workload)}.png" if several else f"{stem}.png"


def _md_table(header, rows):
    def cell(value):
        return str(value).replace("|", "\\|")  # a bare "|" would end the cell

    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _data_caveat(sources):
    """The caveat on the data copy, from the manifests' data sources ("" for the official release)."""
    if any(re.search(r"jpe?g", s, re.IGNORECASE) for s in sources):
        return (
            "Data: a JPEG re-encoding of CIFAR-10 (lossy, quality 75), not the official binary release; "
            "accuracies can sit a little below published ones."
        )
    if any(s.startswith("image-folder") for s in sources):
        return (
            "Data: an image-folder copy of CIFAR-10, not the official binary release; if it is a JPEG "
            "re-encoding (as the shared copy is: lossy, quality 75), accuracies can sit a little below published ones."
        )
    return ""


def _is_cpu(devices):
    devices = [d.lower() for d in devices]
    return bool(devices) and all("cpu" in d and not re.search(r"gpu|cuda|tpu", d) for d in devices)


def _setup_section(study):
    configs = [r.config for r in study.runs]
    manifests = [r.manifest for r in study.ended_runs]
    plan = study.plan or {}

    def values(key):
        return _distinct(c.get(key) for c in configs if key in c)

    data_blocks = [m.get("data") or {} for m in manifests]
    data = sorted({f"{d.get('source', '?')} (checksum {d.get('checksum', '?')})" for d in data_blocks})
    devices = sorted({str(m.get("device")) for m in manifests if m.get("device")})
    versions = {}
    for m in manifests:
        for key, value in sorted((m.get("versions") or {}).items()):
            versions.setdefault(key, set()).add(str(value))
    subsets = sorted({c.get("train_subset") for c in configs}, key=lambda s: (s is not None, s or 0))
    train = ", ".join("full training set" if s is None else f"subset of {s} images" for s in subsets)
    schedules = sorted(
        {
            f"step: x{c.get('lr_decay_factor')} at epochs {list(c.get('lr_boundaries') or [])}"
            if c.get("lr_schedule", "step") == "step"
            else str(c.get("lr_schedule"))
            for c in configs
        }
    )
    rows = [
        ("Preset", values("preset")),
        ("Model", values("model")),
        ("Optimizers (variants)", ", ".join(sorted({r.variant for r in study.runs}, key=variant_sort_key)) or "n/a"),
        ("Seeds", _distinct(c.get("seed") for c in configs)),
        ("Epochs", values("epochs")),
        ("Batch size", values("batch_size")),
        ("Training data", train or "n/a"),
        ("Validation images held out", values("val_size")),
        ("Learning-rate schedule", "; ".join(schedules) or "n/a"),
        ("Data source", "; ".join(data) or "unknown (no run has finished)"),
        ("Data directory", values("data_dir")),
        ("Device", "; ".join(devices) or "unknown"),
        ("Versions", "; ".join(f"{k} {', '.join(sorted(v))}" for k, v in sorted(versions.items())) or "unknown"),
    ]
    commits = sorted(
        {
            f"{code['commit'][:12]}" + (" (uncommitted changes)" if code.get("dirty") else "")
            for code in ((m.get("code") or {}) for m in manifests)
            if code.get("commit")
        }
    )
    if commits:
        rows.append(("Code commit(s)", ", ".join(commits)))
    if plan.get("command"):
        rows.append(("Grid command", f"`{plan['command']}`"))
    lines = ["## Setup", "", _md_table(["Item", "Value"], rows), ""]
    settings = aggregate.variant_settings(study)
    if len(settings):
        several = settings["workload"].nunique() > 1
        header = (["Workload"] if several else []) + ["Variant", "Learning rate", "Weight decay", "p", "Schedule", "Batch"]
        body = [
            ([r.workload] if several else [])
            + [r.variant, r.learning_rate, r.weight_decay, r.partial, r.lr_schedule, r.batch_size]
            for r in settings.itertuples(index=False)
        ]
        lines += ["Optimizer settings as run:", "", _md_table(header, body), ""]
    return lines


def _planned_missing(study):
    """What study.json planned that has no run directory.

    Main cells are optimizer x seed; a p-sweep value counts as present when any
    seed of it was run (the grid runs the sweep at one seed).
    """
    plan = study.plan or {}
    present = {(r.variant, r.config.get("seed")) for r in study.runs}
    present_variants = {v for v, _ in present}
    missing = [
        f"{o} seed {s}" for o in plan.get("optimizers") or [] for s in plan.get("seeds") or [] if (o, s) not in present
    ]
    sweep = dict.fromkeys(variant_of("padam", p) for p in plan.get("partial_sweep") or [])
    missing += [v for v in sweep if not is_main_variant(v) and v not in present_variants]
    return missing


def _runs_section(study):
    ended = study.ended_runs
    diverged = [r for r in ended if r.status == "diverged"]
    lines = [
        "## Runs",
        "",
        f"{len(study.runs)} run directories: {len(ended) - len(diverged)} finished, {len(diverged)} diverged,"
        f" {len(study.unfinished_runs)} unfinished. Diverged runs count in the statistics; unfinished ones do not.",
        "",
    ]
    if ended:
        body = []
        for r in ended:
            final = measures.final_metrics(r)
            wall = (r.manifest or {}).get("wall_time_s")
            body.append(
                [
                    r.name,
                    r.variant,
                    r.config.get("seed"),
                    r.status + (f" at epoch {r.manifest.get('diverged_at_epoch')}" if r.status == "diverged" else ""),
                    f"{r.epochs_completed}/{r.epochs}",
                    aggregate.fmt_value(final["test_error"], 100.0),
                    aggregate.fmt_value(float(wall), digits=0) if isinstance(wall, (int, float)) else "n/a",
                ]
            )
        lines += [_md_table(["Run", "Variant", "Seed", "Status", "Epochs", "Final test error %", "Wall time (s)"], body), ""]
    if study.unfinished_runs:
        lines += ["Unfinished runs (no manifest; left out of every statistic):", ""]
        lines += [
            f"- `{r.name}`: {r.variant}, seed {r.config.get('seed')}, {r.epochs_completed}/{r.epochs} epochs recorded"
            for r in study.unfinished_runs
        ]
        lines.append("")
    if study.unreadable:
        lines += ["Unreadable run directories (skipped):", ""]
        lines += [f"- `{name}`: {reason}" for name, reason in study.unreadable]
        lines.append("")
    missing = _planned_missing(study)
    if missing:
        lines += [f"Planned in study.json but without a run directory: {', '.join(missing)}.", ""]
    return lines


def _published_section(summary, curves, workload_setups, data_note=""):
    lines = ["## Published numbers", ""]
    for workload, setup in workload_setups.items():
        rows = _rows_by_variant(summary, workload)
        variants = [v for v in rows if is_main_variant(v)]
        matched, context = [], []
        for result in published.PUBLISHED:
            if result.optimizer not in variants:
                continue
            differences = published.setup_differences(result, setup["model"], setup["epochs"], setup["train_subset"])
            if not differences:
                matched.append(result)
            elif result.final and (result.model == setup["model"] or result.source in published.OPTIMIZER_COMPARISONS):
                context.append((result, differences))
        if len(workload_setups) > 1:
            lines += [f"### {workload}", ""]
        if matched:
            body = []
            for result in matched:
                mean, half = _study_error_at(rows[result.optimizer], curves, workload, result)
                diff = aggregate.fmt_value(mean * 100.0 - result.test_error_pct, digits=2)
                body.append(
                    [
                        result.source, result.model, result.optimizer, result.epoch,
                        f"{result.test_error_pct:.2f}", _pct(mean, half), diff, result.note,
                    ]
                )  # fmt: skip
            lines += [
                "Where this study's setup matches a published one "
                "(same model, optimizer, epochs within 10%, full training set):",
                "",
                _md_table(
                    ["Source", "Model", "Optimizer", "Epoch", "Published test error %", "This study", "Difference (pp)",
                     "Note"],  # fmt: skip
                    body,
                ),
                "",
            ]
        else:
            lines += [
                f"No published number matches this setup (model {setup['model']}, {setup['epochs']} epochs, "
                + ("full training set" if not setup["train_subset"] else f"{setup['train_subset']}-image subset")
                + "): nothing here is a reproduction target.",
                "",
            ]
        if context:
            body = [
                [r.source, r.model, r.optimizer, r.epochs, f"{r.test_error_pct:.2f}", "; ".join(d), r.note]
                for r, d in context
            ]
            lines += [
                "Context only — these setups differ from this study's, so the numbers are not comparable targets:",
                "",
                _md_table(["Source", "Model", "Optimizer", "Epochs", "Published test error %", "Differs in", "Note"], body),
                "",
            ]
    if data_note:
        lines += [data_note, ""]
    lines += ["Sources:", ""] + [f"- {key}: {text}" for key, text in sorted(published.SOURCES.items())] + [""]
    return lines


def _study_error_at(row, curves, workload, result):
    if result.final:
        return row.test_error_mean, row.test_error_ci
    points = curves[
        (curves["workload"] == workload) & (curves["variant"] == result.optimizer) & (curves["epoch"] == result.epoch)
    ]
    if points.empty:
        return math.nan, math.nan
    return float(points["test_error_mean"].iloc[0]), float(points["test_error_ci"].iloc[0])


# ---------------------------------------------------------------------------
# Pre-registration
# ---------------------------------------------------------------------------


def _when(item):
    """"declared <time>", with the after-the-results mark where it applies."""
    if not item.get("declared_at"):
        return "not declared in study.json: counts as **added after the results**"
    return f"declared {item['declared_at']}" + (", **added after the results**" if item.get("after_results") else "")


def _settings_text(settings):
    target = settings.get("target_val_accuracy")
    rates = settings.get("learning_rates") or {}
    return [
        f"- Each family (the declared contrasts; each claim's tests) at alpha = {settings['alpha']:g}, "
        "Holm-adjusted; intervals are paired t-intervals over the seeds both optimizers ran (df = n - 1).",
        f"- A contrast needs at least {settings['min_seeds']} paired seeds to decide anything.",
        f"- Equivalence and non-inferiority margin: ±{settings['equivalence_margin_pp']:g} pp of test error "
        "(equivalence by TOST at alpha, Holm-adjusted; unadjusted, that is the 90% paired interval inside the "
        f"margin); for time to target ±{settings['speed_margin_pp']:g} pp of the training budget.",
        "- Speed: epochs and steps to a validation accuracy of "
        + (f"{target * 100:g}%" if target is not None else "(none declared: no speed test can be decided)")
        + "; a run that never reaches it is censored, not dropped.",
        f"- A claim about generalisation needs at least {settings['min_epochs_generalisation']} epochs.",
        "- Learning rates: "
        + ("; ".join(f"{k} {v}" for k, v in rates.items()) if rates else "not declared (inferred per workload)")
        + ".",
        f"- Settings {_when(settings)}.",
    ]


def _preregistration_section(declaration):
    lines = ["## Pre-registration", ""]
    if declaration.get("declared"):
        lines += [
            f"Declared in `study.json` (`preregistration`, first written {declaration.get('written_at')}); the "
            "report tests exactly these. Anything declared once runs had recorded results is marked "
            "**added after the results**.",
            "",
        ]
    else:
        lines += [
            "`study.json` declares no contrasts or claims (the study predates pre-registration): the report "
            "tests the defaults below, and because nothing was declared before the runs, every one of them "
            "counts as **added after the results**.",
            "",
        ]
    lines += _settings_text(declaration["settings"]) + [""]
    lines += ["Contrasts (a - b, final test error, one family):", ""]
    lines += [f"- `{c['id']}`: {c['a']} - {c['b']} ({_when(c)})" for c in declaration["contrasts"]]
    lines += ["", "Claims:", ""]
    for claim in declaration["claims"]:
        lines.append(f"- ({claim['id']}) {claim['statement']} Source: {claim.get('source') or 'not given'}; "
                     f"{_when(claim)}.")  # fmt: skip
    sources = sorted({c.get("source") for c in declaration["claims"] if c.get("source") in claims_module.CLAIM_SOURCES})
    if sources:
        lines += ["", "Sources:", ""] + [f"- {s}: {claims_module.CLAIM_SOURCES[s]}" for s in sources]
    if declaration.get("superseded"):
        lines += ["", "Superseded declarations (replaced after results existed):", ""]
        for item in declaration["superseded"]:
            label = item.get("id") or "settings"
            when = f"declared {item.get('declared_at')}, replaced {item.get('superseded_at')}"
            lines.append(f"- {item['kind']} `{label}`, {when}")
    return lines + [""]


# ---------------------------------------------------------------------------
# Paired contrasts
# ---------------------------------------------------------------------------


def _contrast_decision(outcome, settings):
    status = outcome.status
    if status in ("lower", "higher"):
        return f"differs: {outcome.spec['a']} {status}"
    if status == contrasts.INCONCLUSIVE:
        return "no clear difference (inconclusive)"
    if status == contrasts.TOO_FEW_SEEDS:
        n = outcome.paired.n if outcome.paired is not None else 0
        return f"too few seeds ({n} < {settings['min_seeds']})"
    return status


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
                _num(mean),
                _interval(low, high),
                _p(o.p),
                _p(o.p_adjusted),
                _contrast_decision(o, settings),
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
            digits = _digits(metric)
            row.append("n/a" if not math.isfinite(mean) else f"{mean:.{digits}f} {_interval(low, high, digits)}")
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
    shared = sorted({s for v, s in runs if v == a} & {s for v, s in runs if v == b}, key=aggregate.seed_key)
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
                _p(test.p_exact),
                _p(test.p_mid),
            ]
        )
    return rows


def _contrasts_section(study, per_run, evaluations, figures, declaration):
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
            _md_table(
                ["Contrast (a - b)", "Paired seeds", "Mean difference (pp)", "95% paired CI (pp)", "p", "Holm p",
                 "Decision"],  # fmt: skip
                _contrast_rows(outcomes, settings),
            ),
            "",
        ]
        path = figures.get("contrasts", {}).get(workload)
        if path:
            lines += [
                f"![Paired contrasts, {workload}]({path})",
                "",
                f"Forest plot: paired mean difference of final test error with its 95% t-interval; the shaded band is "
                f"the declared equivalence margin (±{settings['equivalence_margin_pp']:g} pp); grey: too few seeds "
                "to decide.",
                "",
            ]
        secondary = _secondary_rows(per_run, workload, outcomes)
        if secondary:
            lines += [
                "Other paired measures, same pairs (mean difference a - b [95% paired t-interval]; descriptive, none "
                "of these decides a contrast; claims that use one say so). Time to target is the restricted time: a "
                "run that never reached the target counts as reaching it one epoch after the end.",
                "",
                _md_table(["Contrast"] + [label for _, label in SECONDARY], secondary),
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
                _md_table(
                    ["Contrast", "Seed", "Only a right", "Only b right", "Test-error difference (pp)", "McNemar p",
                     "mid-p"],  # fmt: skip
                    mcnemar,
                ),
                "",
            ]
    return lines


# ---------------------------------------------------------------------------
# Claims
# ---------------------------------------------------------------------------


def _test_line(outcome, per_run, workload, decided):
    spec, pair = outcome.spec, outcome.paired
    if pair is None:
        return f"{spec['part']}: not run."
    if outcome.status == contrasts.NO_TARGET:
        return f"{spec['part']}: no validation-accuracy target declared, so no time to target."
    metric = spec["metric"]
    unit, _, what = claims_module.METRICS[metric]
    digits = _digits(metric)
    t = pair.t
    low, high = t.interval(0.95)
    text = (
        f"{spec['part']}: {what}, {pair.a} - {pair.b} = {_num(t.mean, digits)} {unit}, 95% paired CI "
        f"{_interval(low, high, digits)} (n = {pair.n}, seeds {', '.join(str(s) for s in pair.seeds) or '-'})"
    )
    if spec["form"] != claims_module.DIFFERENCE:
        low90, high90 = t.interval(0.90)
        kind = "equivalence (TOST)" if spec["form"] == claims_module.EQUIVALENCE else "non-inferiority"
        text += f"; {kind} margin ±{outcome.margin:g} {unit}, 90% CI {_interval(low90, high90, digits)}"
    else:
        text += f"; claimed: {pair.a} {spec['direction']}"
    if metric in contrasts.CENSORED_METRICS and pair.a_reached:
        text += (
            f"; reached the target: {pair.a} {sum(pair.a_reached)}/{pair.n}, {pair.b} {sum(pair.b_reached)}/{pair.n}"
        )
    if math.isfinite(outcome.p_adjusted):
        text += f"; {_p_is('p', outcome.p)}, {_p_is('Holm p', outcome.p_adjusted)} (family of {outcome.family_size})"
    elif math.isfinite(outcome.p):
        text += f"; {_p_is('p', outcome.p)} (unadjusted; outside the family)"
    status = outcome.status if decided else {
        contrasts.TOO_FEW_SEEDS: f"too few seeds ({pair.n})",
        contrasts.BOTH_CENSORED: "neither run reached the target in some seed",
    }.get(outcome.status, "not decided")  # fmt: skip
    text += f": **{status}**."
    if metric in contrasts.CENSORED_METRICS:
        extra = []
        for loss_metric in ("train_loss_25", "train_loss_50"):
            other = contrasts.paired(per_run, workload, pair.a, pair.b, loss_metric)
            mean, lo, hi = contrasts.finite_interval(other)
            extra.append(f"{loss_metric.split('_')[-1]}%: {_num(mean, 3)} {_interval(lo, hi, 3)}")
        text += f" Second convergence measure (not deciding), paired train-loss difference at {'; '.join(extra)}."
    return text


def _claims_section(evaluations, declaration):
    lines = [
        "## Claims",
        "",
        "Each claim is a set of paired tests declared in advance; its tests form one Holm family. A difference "
        "holds when the Holm-adjusted paired test is significant in the claimed direction and is contradicted when "
        "it is significant the other way; an equivalence holds only by TOST inside the declared margin; a claim "
        "holds when every test holds. A claim tested in a setting that cannot decide it, or with fewer paired "
        "seeds than declared, says so instead of deciding.",
        "",
    ]
    several = len(evaluations) > 1
    for workload, evaluation in evaluations.items():
        if several:
            lines += [f"### {workload}", ""]
        claim_verdicts = evaluation["claims"]
        if claim_verdicts:
            lines += [f"Tested in: {claim_verdicts[0].regime.describe()}; seeds {evaluation['seeds']}.", ""]
        for verdict in claim_verdicts:
            claim = verdict.claim
            mark = " *(added after the results)*" if claim.get("after_results") else ""
            lines.append(
                f"- **({claim['id']})** {claim['statement']} *Source: {claim.get('source') or 'not given'}.*{mark} "
                f"**{VERDICT_TEXT[verdict.verdict]}.**"
            )
            lines += [f"  - Why not decided: {reason}." for reason in verdict.reasons]
            decided = verdict.verdict in (verdicts.HOLDS, verdicts.CONTRADICTED, verdicts.INCONCLUSIVE)
            if verdict.decidable:
                lines.append("  - The parts this setting can decide, as their own Holm family:")
                lines += [f"    - {_test_line(o, evaluation['per_run'], workload, True)}" for o in verdict.decidable]
                lines.append("  - The parts it cannot decide:")
                parts = {o.spec["part"] for o in verdict.decidable}
                lines += [f"    - {_test_line(o, evaluation['per_run'], workload, False)}"
                          for o in verdict.outcomes if o.spec["part"] not in parts]  # fmt: skip
            else:
                lines += [f"  - {_test_line(o, evaluation['per_run'], workload, decided)}" for o in verdict.outcomes]
            lines += [f"  - {note}" for note in verdict.notes]
        lines.append("")
    return lines


def _caveats_section(study, summary, evaluations):
    configs = [r.config for r in study.runs]
    manifests = [r.manifest for r in study.ended_runs]
    sources = [str((m.get("data") or {}).get("source", "")) for m in manifests]
    caveats = []
    subsets = sorted({c.get("train_subset") for c in configs if c.get("train_subset")})
    if subsets:
        caveats.append(
            f"Trained on a subset of {', '.join(str(s) for s in subsets)} of the 50,000 training images: "
            "accuracies sit below full-data numbers, and the optimizers' ranking may differ at full scale."
        )
    if _data_caveat(sources):
        caveats.append(_data_caveat(sources))
    elif not sources:
        caveats.append("Data source unknown (no run has finished).")
    epochs = sorted({int(c.get("epochs") or 0) for c in configs})
    if epochs and max(epochs) < FEW_EPOCHS:
        caveats.append(
            f"Few epochs ({', '.join(str(e) for e in epochs)}; the published recipes train 164-200): "
            "the late-training behaviour the claims are about may not be reached."
        )
    devices = [str(m.get("device")) for m in manifests if m.get("device")]
    if _is_cpu(devices):
        caveats.append("Trained on CPU: step times are CPU numbers and do not transfer to accelerators.")
    caveats.append(
        "Step times were measured while whatever else ran on the machine; they are shown for orientation and "
        "decide nothing (speed claims are decided on steps to the validation-accuracy target)."
    )
    main = summary[summary["main"].astype(bool)] if len(summary) else summary
    if len(main) and main["n"].min() < 3:
        caveats.append(
            f"Few seeds (as few as {int(main['n'].min())} per optimizer): with fewer than the declared minimum of "
            "paired seeds no contrast or claim is decided; the paired intervals are shown for what they are."
        )
    if study.unfinished_runs:
        count = len(study.unfinished_runs)
        caveats.append(f"{count} unfinished run(s) are left out of every statistic (listed under Runs).")
    untuned = sorted({v["claims"][0].regime.preset for v in evaluations.values()
                      if v["claims"] and v["claims"][0].regime.rates == claims_module.UNTUNED})  # fmt: skip
    if untuned:
        caveats.append(
            f"Untuned learning rates ({', '.join(untuned)}): one configured rate per optimizer, never tuned for this "
            "setup, so the comparison favours the optimizers whose defaults suit it."
        )
    return ["## Caveats", ""] + [f"- {c}" for c in caveats] + [""]


def _evaluate(study, per_run, declaration, workloads):
    """Per workload: the declared contrasts' outcomes, the claims' verdicts, the seeds."""
    evaluations = {}
    settings = declaration["settings"]
    specs = contrasts.contrast_specs(declaration["contrasts"])
    for workload in workloads:
        rows = per_run[per_run["workload"] == workload]
        evaluations[workload] = {
            "contrasts": contrasts.evaluate_family(specs, per_run, workload, settings),
            "claims": verdicts.decide_claims(study, per_run, declaration, workload),
            "seeds": ", ".join(str(s) for s in sorted(set(rows["seed"]), key=aggregate.seed_key)),
            "per_run": per_run,
        }
    return evaluations


def tests_table(evaluations):
    """Every evaluated test of the report, one row each (the numbers behind ``contrasts.csv``)."""
    rows = []
    for workload, evaluation in evaluations.items():
        families = [("contrasts", evaluation["contrasts"])]
        families += [(f"claim ({v.claim['id']})", v.outcomes) for v in evaluation["claims"]]
        for family, outcomes in families:
            for o in outcomes:
                pair = o.paired
                t = pair.t if pair is not None else stats.paired_t([])
                low, high = t.interval(0.95)
                low90, high90 = t.interval(0.90)
                rows.append(
                    {
                        "workload": workload, "family": family, "test": o.spec["part"], "a": o.spec["a"],
                        "b": o.spec["b"], "metric": o.spec["metric"], "form": o.spec["form"],
                        "direction": o.spec.get("direction"), "margin": o.margin, "n": t.n,
                        "seeds": ",".join(str(s) for s in pair.seeds) if pair is not None else "",
                        "mean": t.mean, "ci95_low": low, "ci95_high": high, "ci90_low": low90, "ci90_high": high90,
                        "p": o.p, "p_holm": o.p_adjusted, "family_size": o.family_size, "status": o.status,
                    }
                )  # fmt: skip
    return pd.DataFrame(rows)


def render_report(study, summary, curves, figures, evaluations, declaration, title=None):
    """The report's Markdown text (deterministic: no timestamps of its own, sorted everywhere).

    Args:
        study: a `runs.Study`.
        summary: the frame from `aggregate.summarize`.
        curves: the frame from `aggregate.epoch_curves`.
        figures: ``{"<kind>": {workload or None: relative path}}`` of saved figures.
        evaluations: from `_evaluate`: per workload, contrasts and claims.
        declaration: from `claims.declared`.
        title: the report title; defaults to the study directory's name.
    """
    title = title or Path(study.path).resolve().name
    workloads = list(dict.fromkeys(summary["workload"])) if len(summary) else []
    lines = [
        f"# Optimizer study: {title}",
        "",
        "Generated by `scripts/report.py` from the run directories under `runs/` and the declarations in "
        "`study.json`; regenerating it from the same runs gives the same file. Tables: `summary.csv`, `summary.md`, "
        "`summary.tex`; every paired test: `contrasts.csv`; curves: `curves.csv`.",
        "",
    ]
    lines += _setup_section(study)
    lines += _runs_section(study)
    lines += _preregistration_section(declaration)
    lines += ["## Results", ""]
    if not workloads:
        lines += ["No run has finished: nothing to summarise.", ""]
    for workload in workloads:
        lines += [
            f"### {workload}",
            "",
            aggregate.summary_to_markdown(summary, workload).rstrip("\n"),
            "",
        ]
        for kind, caption in (("train_loss", "Training loss"), ("test_error", "Test error"), ("p_sweep", "Padam p sweep")):
            path = figures.get(kind, {}).get(workload)
            if path:
                lines += [f"![{caption}, {workload}]({path})", ""]
        if figures.get("train_loss", {}).get(workload):
            lines += [
                "Curves: each seed a thin line, the mean over seeds a thick one; a band (95% t-interval) only where "
                f"at least {plots.MIN_BAND_SEEDS} seeds stand behind it.",
                "",
            ]
    if figures.get("performance_profile"):
        lines += ["### Across workloads", "", f"![Performance profile]({figures['performance_profile'][None]})", ""]
    if figures.get("lr_sensitivity"):
        path = figures["lr_sensitivity"][None]
        lines += ["### Learning-rate sensitivity", "", f"![Learning-rate sensitivity]({path})", ""]
    if workloads:
        lines += _contrasts_section(study, evaluations[workloads[0]]["per_run"], evaluations, figures, declaration)
        lines += _claims_section(evaluations, declaration)
        setups = {}
        for run in study.ended_runs:
            setups.setdefault(
                run.workload,
                {"model": run.config.get("model"), "epochs": run.epochs, "train_subset": run.config.get("train_subset")},
            )
        sources = [str((r.manifest.get("data") or {}).get("source", "")) for r in study.ended_runs]
        lines += _published_section(summary, curves, {w: setups[w] for w in workloads}, _data_caveat(sources))
    lines += _caveats_section(study, summary, evaluations)
    return "\n".join(lines).rstrip("\n") + "\n"


def _draw_figures(study_dir, summary, curves, per_run_curves, evaluations, declaration, pdf, tuning_trials):
    """Draw and save every figure; returns ``{kind: {workload or None: file name}}``."""
    figures = {}
    workloads = list(dict.fromkeys(summary["workload"])) if len(summary) else []
    several = len(workloads) > 1

    def record(kind, workload, name):
        figures.setdefault(kind, {})[workload] = name
        return study_dir / name

    for workload in workloads:
        for kind, draw in (("train_loss", plots.plot_train_loss), ("test_error", plots.plot_test_error)):
            draw(curves, workload, record(kind, workload, _figure_name(kind, workload, several)), pdf,
                 per_run=per_run_curves)  # fmt: skip
        rows = summary[summary["workload"] == workload]
        if (~rows["main"].astype(bool)).any():
            plots.plot_p_sweep(summary, workload, record("p_sweep", workload, _figure_name("p_sweep", workload, several)), pdf)
        forest = []
        for o in evaluations[workload]["contrasts"]:
            if o.paired is None:
                continue
            mean, low, high = contrasts.finite_interval(o.paired)
            forest.append({"label": f"{o.spec['a']} - {o.spec['b']}", "mean": mean, "low": low, "high": high,
                           "n": o.paired.n, "decided": o.status != contrasts.TOO_FEW_SEEDS})  # fmt: skip
        if forest:
            plots.plot_contrasts(
                forest, declaration["settings"]["equivalence_margin_pp"],
                record("contrasts", workload, _figure_name("contrasts", workload, several)), pdf,
                title=f"Paired contrasts, final test error: {workload}",
            )  # fmt: skip
    if several:
        plots.plot_performance_profile(summary, record("performance_profile", None, "performance_profile.png"), pdf)
    if tuning_trials is not None:
        plots.plot_lr_sensitivity(tuning_trials, record("lr_sensitivity", None, "lr_sensitivity.png"), pdf)
    return figures


def write_report(study_dir, pdf=False, tuning_trials=None):
    """Write the study report and its tables and figures under `study_dir`.

    Args:
        study_dir: a study directory (``runs/<run>/`` inside; ``study.json``
            with its ``preregistration`` when the study declared one).
        pdf: also save every figure as PDF.
        tuning_trials: a tuning-trials DataFrame or CSV path (columns
            optimizer, learning_rate, val_accuracy, optional partial) for the
            learning-rate sensitivity figure; None to skip it.

    Returns:
        The path of ``report.md``.
    """
    study_dir = Path(study_dir)
    study = load_study(study_dir)
    declaration = claims_module.declared(study.plan, sorted({r.variant for r in study.runs}, key=variant_sort_key))
    target = declaration["settings"].get("target_val_accuracy")
    per_run = measures.run_measures(study, target)
    summary = aggregate.summarize(study, target, per_run=per_run)
    curves = aggregate.epoch_curves(study)
    per_run_curves = aggregate.run_curves(study)
    workloads = list(dict.fromkeys(summary["workload"])) if len(summary) else []
    evaluations = _evaluate(study, per_run, declaration, workloads)
    aggregate.export_summary(summary, study_dir)
    write_text(study_dir / "curves.csv", curves.to_csv(index=False, lineterminator="\n"))
    write_text(study_dir / "contrasts.csv", tests_table(evaluations).to_csv(index=False, lineterminator="\n"))
    figures = _draw_figures(study_dir, summary, curves, per_run_curves, evaluations, declaration, pdf, tuning_trials)
    path = study_dir / "report.md"
    write_text(path, render_report(study, summary, curves, figures, evaluations, declaration))
    return path


__all__ = ["VERDICT_TEXT", "mcnemar_for", "render_report", "tests_table", "write_report"]
