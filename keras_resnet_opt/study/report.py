"""The study report: setup, results table, figures, published numbers, verdicts, caveats.

``write_report(study_dir)`` reads ``study_dir/runs/*`` and writes, under
``study_dir``: ``report.md``, ``summary.csv``/``.md``/``.tex``,
``curves.csv`` and the figures (PNG, and PDF on request). Every file is
written atomically, and the report holds no timestamp: the same runs give the
same ``report.md`` bytes.

The verdicts on the Padam paper's three claims are computed from the summary
(`check_claims`). A difference between two optimizers counts only when their
95% t-intervals over seeds do not overlap; overlapping intervals make a claim
"inconclusive" where it asserts a difference. This is deliberately
conservative: overlap is not evidence of equality.
"""

import dataclasses
import math
import re
from pathlib import Path

from keras_resnet_opt.atomic import write_text
from keras_resnet_opt.study import aggregate, plots, published
from keras_resnet_opt.study.runs import is_main_variant, load_study, variant_of, variant_sort_key

HOLDS = "holds"
DOES_NOT_HOLD = "does not hold"
INCONCLUSIVE = "inconclusive"
NOT_TESTABLE = "not testable"

# The adaptive methods of claim (i), as the Padam paper names them.
ADAPTIVE = ("adam", "amsgrad")
# Fewer epochs than this is "few" next to the published 164-200 epoch recipes.
FEW_EPOCHS = 100


@dataclasses.dataclass(frozen=True)
class ClaimVerdict:
    """A claim, its verdict and the numbers behind it.

    Attributes:
        claim: the claim, in one sentence.
        verdict: `HOLDS`, `DOES_NOT_HOLD`, `INCONCLUSIVE` or `NOT_TESTABLE`.
        evidence: one line per comparison made.
    """

    claim: str
    verdict: str
    evidence: tuple


def compare_intervals(a_mean, a_half, b_mean, b_half):
    """Where interval a lies relative to interval b.

    Returns:
        "lower" or "higher" when the intervals do not overlap, "overlap" when
        they do, "unknown" when a mean or an interval is undefined (one seed).
    """
    values = (a_mean, a_half, b_mean, b_half)
    if any(v is None or not math.isfinite(float(v)) for v in values):
        return "unknown"
    if a_mean + a_half < b_mean - b_half:
        return "lower"
    if a_mean - a_half > b_mean + b_half:
        return "higher"
    return "overlap"


# A comparison that cannot be made (one seed: no interval). It is reported and
# left out of the overall verdict; a claim with no other comparison is inconclusive.
UNDEFINED = "not compared (one seed, no interval)"


def _combine(parts):
    """Overall verdict from per-part verdicts: all hold, any fails, else inconclusive."""
    if parts and all(p == HOLDS for p in parts):
        return HOLDS
    if any(p == DOES_NOT_HOLD for p in parts):
        return DOES_NOT_HOLD
    return INCONCLUSIVE


def _pct(mean, half):
    return aggregate.fmt_pm(mean, half, 100.0) + " %"


def _relation_text(relation):
    return {"unknown": "no interval (one seed)", "overlap": "intervals overlap"}.get(relation, relation)


def _rows_by_variant(summary, workload):
    rows = summary[summary["workload"] == workload]
    return {r.variant: r for r in rows.itertuples(index=False)}


def _interval(row, metric):
    """``(mean, half-width)`` of a summary metric: "test_error", "early_test_error", "smoothness"."""
    return getattr(row, f"{metric}_mean"), getattr(row, f"{metric}_ci")


def _compare(a, b, metric):
    return compare_intervals(*_interval(a, metric), *_interval(b, metric))


def _early_error(row):
    return _pct(*_interval(row, "early_test_error"))


def _final_error(row):
    return _pct(*_interval(row, "test_error"))


def _claim_adaptive(rows):
    claim = "Adaptive methods (adam, amsgrad) converge faster than SGD-momentum but generalise worse."
    adaptive = [v for v in ADAPTIVE if v in rows]
    if "sgdm" not in rows or not adaptive:
        missing = ([] if "sgdm" in rows else ["sgdm"]) + ([] if adaptive else ["adam or amsgrad"])
        return ClaimVerdict(claim, NOT_TESTABLE, (f"needs finished runs of: {', '.join(missing)}",))
    sgdm = rows["sgdm"]
    parts, evidence = [], []
    for name in adaptive:
        a = rows[name]
        early, final = _compare(a, sgdm, "early_test_error"), _compare(a, sgdm, "test_error")
        faster = {"lower": HOLDS, "higher": DOES_NOT_HOLD}.get(early, INCONCLUSIVE)
        worse = {"higher": HOLDS, "lower": DOES_NOT_HOLD}.get(final, INCONCLUSIVE)
        verdict = UNDEFINED if "unknown" in (early, final) else _combine([faster, worse])
        if verdict != UNDEFINED:
            parts.append(verdict)
        losses = [aggregate.fmt_value(r.early_train_loss_mean, digits=4) for r in (a, sgdm)]
        evidence.append(
            f"{name} vs sgdm, test error at epoch {int(a.early_epoch)}: {_early_error(a)} vs {_early_error(sgdm)}"
            f" ({_relation_text(early)}; train loss {losses[0]} vs {losses[1]}); final test error:"
            f" {_final_error(a)} vs {_final_error(sgdm)} ({_relation_text(final)})."
            f" Faster: {faster}; generalises worse: {worse}. For {name}: **{verdict}**."
        )
    return ClaimVerdict(claim, _combine(parts), tuple(evidence))


def _claim_padam(rows):
    claim = "Padam (p = 1/8) converges like Adam and generalises like SGD-momentum."
    missing = [v for v in ("padam", "adam", "sgdm") if v not in rows]
    if missing:
        return ClaimVerdict(claim, NOT_TESTABLE, (f"needs finished runs of: {', '.join(missing)}",))
    padam, adam, sgdm = rows["padam"], rows["adam"], rows["sgdm"]
    early, final = _compare(padam, adam, "early_test_error"), _compare(padam, sgdm, "test_error")
    # "Like" = not clearly worse: overlapping intervals (or better) support the claim.
    not_worse = {"lower": HOLDS, "overlap": HOLDS, "higher": DOES_NOT_HOLD}
    like_adam, like_sgdm = not_worse.get(early, INCONCLUSIVE), not_worse.get(final, INCONCLUSIVE)
    nearer = ""
    if early == "higher":
        # "Nearly as fast as Adam": clearly slower than Adam still counts when
        # Padam's early error is nearer Adam's than SGD-momentum's.
        to_adam = abs(padam.early_test_error_mean - adam.early_test_error_mean)
        to_sgdm = abs(padam.early_test_error_mean - sgdm.early_test_error_mean)
        if to_adam < to_sgdm:
            like_adam, nearer = HOLDS, f", but nearer adam's than sgdm's {_early_error(sgdm)}"
    evidence = (
        f"padam vs adam, test error at epoch {int(padam.early_epoch)}: {_early_error(padam)} vs {_early_error(adam)}"
        f" ({_relation_text(early)}{nearer}): converges like adam: {like_adam}.",
        f"padam vs sgdm, final test error: {_final_error(padam)} vs {_final_error(sgdm)}"
        f" ({_relation_text(final)}): generalises like sgdm: {like_sgdm}.",
    )
    return ClaimVerdict(claim, _combine([like_adam, like_sgdm]), evidence)


def _claim_smoother(rows):
    claim = "Padam's test-error curve is smoother than the other optimizers'."
    others = [v for v in rows if v != "padam" and is_main_variant(v) and math.isfinite(rows[v].smoothness_mean)]
    if "padam" not in rows or not others or not math.isfinite(rows["padam"].smoothness_mean):
        needs = "needs padam and at least one other optimizer with a second half of training"
        return ClaimVerdict(claim, NOT_TESTABLE, (needs,))
    padam = rows["padam"]
    parts, evidence = [], []
    for name in others:
        relation = _compare(padam, rows[name], "smoothness")
        verdict = {"lower": HOLDS, "higher": DOES_NOT_HOLD, "unknown": UNDEFINED}.get(relation, INCONCLUSIVE)
        if verdict != UNDEFINED:
            parts.append(verdict)
        values = [aggregate.fmt_pm(*_interval(r, "smoothness"), 100.0, 3) for r in (padam, rows[name])]
        evidence.append(
            f"padam vs {name}: {values[0]} vs {values[1]} pp/epoch ({_relation_text(relation)}): smoother: {verdict}."
        )
    return ClaimVerdict(claim, _combine(parts), tuple(evidence))


def check_claims(summary, workload):
    """Verdicts on the three claims of the Padam paper for one workload.

    (i) adam/amsgrad have lower test error than sgdm at the early epoch (end
    of the first quarter) and higher final test error; (ii) padam's early test
    error is not clearly above adam's (or, if it is, still nearer adam's than
    sgdm's) and its final test error not clearly above sgdm's; (iii) padam's
    smoothness measure is clearly below every other main variant's.
    "Clearly" means non-overlapping t-intervals. Comparisons with a variant
    that has one seed (no interval) are listed but do not count; a claim left
    with no comparison is inconclusive.

    Args:
        summary: the frame from `aggregate.summarize`.
        workload: the workload label to judge.

    Returns:
        Three `ClaimVerdict`.
    """
    rows = _rows_by_variant(summary, workload)
    return [_claim_adaptive(rows), _claim_padam(rows), _claim_smoother(rows)]


# ---------------------------------------------------------------------------
# Rendering
# ---------------------------------------------------------------------------


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
            final = aggregate.final_metrics(r)
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


def _claims_section(summary, workloads):
    lines = [
        "## Claims",
        "",
        "Computed from the table above. \"Faster\" is judged by test error at the end of the first quarter of "
        "training; a difference counts only when the 95% intervals over seeds do not overlap (overlap is read "
        "as \"no clear difference\", not as equality). Claim (ii) asks only that Padam be not clearly worse.",
        "",
    ]
    for workload in workloads:
        if len(workloads) > 1:
            lines += [f"### {workload}", ""]
        for number, verdict in enumerate(check_claims(summary, workload), start=1):
            lines.append(f"{number}. {verdict.claim} **{verdict.verdict.capitalize()}.**")
            lines += [f"   - {e}" for e in verdict.evidence]
        lines.append("")
    return lines


def _caveats_section(study, summary):
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
        caveats.append("Trained on CPU: times and per-step overheads are CPU numbers and do not transfer to accelerators.")
    main = summary[summary["main"].astype(bool)] if len(summary) else summary
    if len(main) and main["n"].min() < 3:
        caveats.append(
            f"Few seeds (as few as {int(main['n'].min())} per optimizer): intervals are wide, "
            "and undefined (n/a) with a single seed."
        )
    if study.unfinished_runs:
        count = len(study.unfinished_runs)
        caveats.append(f"{count} unfinished run(s) are left out of every statistic (listed under Runs).")
    caveats.append(
        "One configured learning rate per optimizer (see Optimizer settings); unless it was tuned for each, "
        "the comparison favours the optimizers whose defaults suit this setup."
    )
    return ["## Caveats", ""] + [f"- {c}" for c in caveats] + [""]


def render_report(study, summary, curves, figures, title=None):
    """The report's Markdown text (deterministic: no timestamps, sorted everywhere).

    Args:
        study: a `runs.Study`.
        summary: the frame from `aggregate.summarize`.
        curves: the frame from `aggregate.epoch_curves`.
        figures: ``{"<kind>": {workload or None: relative path}}`` of saved figures.
        title: the report title; defaults to the study directory's name.
    """
    title = title or Path(study.path).resolve().name
    workloads = list(dict.fromkeys(summary["workload"])) if len(summary) else []
    lines = [
        f"# Optimizer study: {title}",
        "",
        "Generated by `scripts/report.py` from the run directories under `runs/`; regenerating it from the "
        "same runs gives the same file. Tables: `summary.csv`, `summary.md`, `summary.tex`; curves: `curves.csv`.",
        "",
    ]
    lines += _setup_section(study)
    lines += _runs_section(study)
    lines += ["## Results", ""]
    if not workloads:
        lines += ["No run has finished: nothing to summarise.", ""]
    for workload in workloads:
        rows = summary[summary["workload"] == workload]
        target = rows["target_accuracy"].iloc[0]
        lines += [f"### {workload}", ""]
        lines += [
            f"Early epoch (end of the first quarter): {int(rows['early_epoch'].max())}. "
            f"Target test accuracy for the time-to-target columns: "
            + (f"{target * 100:g}%." if math.isfinite(target) else "none reached."),
            "",
            aggregate.summary_to_markdown(summary, workload).rstrip("\n"),
            "",
        ]
        for kind, caption in (("train_loss", "Training loss"), ("test_error", "Test error"), ("p_sweep", "Padam p sweep")):
            path = figures.get(kind, {}).get(workload)
            if path:
                lines += [f"![{caption}, {workload}]({path})", ""]
    if figures.get("performance_profile"):
        lines += ["### Across workloads", "", f"![Performance profile]({figures['performance_profile'][None]})", ""]
    if figures.get("lr_sensitivity"):
        path = figures["lr_sensitivity"][None]
        lines += ["### Learning-rate sensitivity", "", f"![Learning-rate sensitivity]({path})", ""]
    if workloads:
        lines += _claims_section(summary, workloads)
        setups = {}
        for run in study.ended_runs:
            setups.setdefault(
                run.workload,
                {"model": run.config.get("model"), "epochs": run.epochs, "train_subset": run.config.get("train_subset")},
            )
        sources = [str((r.manifest.get("data") or {}).get("source", "")) for r in study.ended_runs]
        lines += _published_section(summary, curves, {w: setups[w] for w in workloads}, _data_caveat(sources))
    lines += _caveats_section(study, summary)
    return "\n".join(lines).rstrip("\n") + "\n"


def _draw_figures(study_dir, summary, curves, pdf, tuning_trials):
    """Draw and save every figure; returns ``{kind: {workload or None: file name}}``."""
    figures = {}
    workloads = list(dict.fromkeys(summary["workload"])) if len(summary) else []
    several = len(workloads) > 1

    def record(kind, workload, name):
        figures.setdefault(kind, {})[workload] = name
        return study_dir / name

    for workload in workloads:
        for kind, draw in (("train_loss", plots.plot_train_loss), ("test_error", plots.plot_test_error)):
            draw(curves, workload, record(kind, workload, _figure_name(kind, workload, several)), pdf)
        rows = summary[summary["workload"] == workload]
        if (~rows["main"].astype(bool)).any():
            plots.plot_p_sweep(summary, workload, record("p_sweep", workload, _figure_name("p_sweep", workload, several)), pdf)
    if several:
        plots.plot_performance_profile(summary, record("performance_profile", None, "performance_profile.png"), pdf)
    if tuning_trials is not None:
        plots.plot_lr_sensitivity(tuning_trials, record("lr_sensitivity", None, "lr_sensitivity.png"), pdf)
    return figures


def write_report(study_dir, target_accuracy=None, pdf=False, tuning_trials=None):
    """Write the study report and its tables and figures under `study_dir`.

    Args:
        study_dir: a study directory (``runs/<run>/`` inside).
        target_accuracy: test accuracy (fraction in (0, 1]) for the
            time-to-target columns; None picks one per workload (see
            `aggregate`).
        pdf: also save every figure as PDF.
        tuning_trials: a tuning-trials DataFrame or CSV path (columns
            optimizer, learning_rate, val_accuracy, optional partial) for the
            learning-rate sensitivity figure; None to skip it.

    Returns:
        The path of ``report.md``.
    """
    study_dir = Path(study_dir)
    study = load_study(study_dir)
    summary = aggregate.summarize(study, target_accuracy)
    curves = aggregate.epoch_curves(study)
    aggregate.export_summary(summary, study_dir)
    write_text(study_dir / "curves.csv", curves.to_csv(index=False, lineterminator="\n"))
    figures = _draw_figures(study_dir, summary, curves, pdf, tuning_trials)
    path = study_dir / "report.md"
    write_text(path, render_report(study, summary, curves, figures))
    return path


__all__ = [
    "ClaimVerdict",
    "check_claims",
    "compare_intervals",
    "render_report",
    "write_report",
    "HOLDS",
    "DOES_NOT_HOLD",
    "INCONCLUSIVE",
    "NOT_TESTABLE",
]
