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

This module computes and writes; the sections' text is built in
`report_sections` (setup, runs, published numbers, caveats),
`report_contrasts` (paired contrasts) and `report_claims` (pre-registration,
claims), and every table cell is formatted by `tables`.
"""

import math
import re
from pathlib import Path

import pandas as pd

from keras_resnet_opt.atomic import write_text
from keras_resnet_opt.study import (
    aggregate,
    budgets,
    contrasts,
    measures,
    plots,
    plots_sweeps,
    rate_check,
    rate_follow_up,
    stats,
    tuning_results,
    verdicts,
)
from keras_resnet_opt.study.analysis import analyse
from keras_resnet_opt.study.claim_schema import TUNED
from keras_resnet_opt.study.layout import STUDY_FILE
from keras_resnet_opt.study.report_budgets import budgets_section, rate_check_section, rate_follow_up_section
from keras_resnet_opt.study.report_caveats import caveats_section
from keras_resnet_opt.study.report_claims import claims_section, preregistration_section
from keras_resnet_opt.study.report_contrasts import contrasts_section, decision_kind
from keras_resnet_opt.study.report_nested import nested_section
from keras_resnet_opt.study.report_sections import data_caveat, published_section, runs_section, setup_section
from keras_resnet_opt.study.report_tuning import p_analysis_lines, tuning_section
from keras_resnet_opt.study.runs import default_partial, display_name
from keras_resnet_opt.study.tables import export_summary, summary_to_markdown


def _slug(text):
    return re.sub(r"[^a-z0-9]+", "-", str(text).lower()).strip("-")


def _figure_name(stem, workload, several):
    return f"{stem}-{_slug(workload)}.png" if several else f"{stem}.png"


def tests_table(evaluations):
    """Every evaluated test of the report, one row each (the numbers behind ``contrasts.csv``).

    A claim's tests appear as the report decides them: where the setting
    cannot decide a test, its row has status "not decided (regime)" and no
    Holm p (it is in no family); where only some parts are decidable, those
    parts form the claim's family, with their own Holm p.
    """
    rows = []
    for workload, evaluation in evaluations.items():
        families = [("contrasts", evaluation["contrasts"], ())]
        for v in evaluation["claims"]:
            family = f"claim ({v.claim['id']})"
            if v.decidable:
                parts = {o.spec["part"] for o in v.decidable}
                undecided = tuple(o for o in v.outcomes if o.spec["part"] not in parts)
                families.append((family, v.decidable + undecided, undecided))
            else:
                families.append((family, v.outcomes, v.outcomes if v.verdict == verdicts.WRONG_REGIME else ()))
        for family, outcomes, undecided in families:
            undecided = {id(o) for o in undecided}
            for o in outcomes:
                outside = id(o) in undecided
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
                        "p": o.p, "p_holm": math.nan if outside else o.p_adjusted,
                        "family_size": math.nan if outside else o.family_size,
                        "status": verdicts.WRONG_REGIME if outside else o.status,
                    }
                )  # fmt: skip
    return pd.DataFrame(rows)


def render_report(study, summary, curves, figures, evaluations, declaration, title=None, sections=None):
    """The report's Markdown text (deterministic: no timestamps of its own, sorted everywhere).

    Args:
        study: a `runs.Study`.
        summary: the frame from `aggregate.summarize`.
        curves: the frame from `aggregate.epoch_curves`.
        figures: ``{"<kind>": {workload or None: relative path}}`` of saved figures.
        evaluations: from `analysis.evaluate`: per workload, contrasts and claims.
        declaration: from `claims.declared`.
        title: the report title; defaults to study.json's ``title``, then to
            the study directory's name.
        sections: optional parts beside the runs (`write_report` builds them):
            ``command`` (the report command, when it took more than the
            study directory), ``related`` (lines: nested studies),
            ``tuning`` (lines, before the results), ``p_analysis``
            (``{workload: lines}``), ``nested`` (lines, after the claims:
            the nested studies' verdicts), ``budgets`` (lines, after those),
            ``rate_check`` (lines, after those).
    """
    sections = sections or {}
    title = title or (study.plan or {}).get("title") or Path(study.path).resolve().name
    workloads = list(dict.fromkeys(summary["workload"])) if len(summary) else []
    lines = [
        f"# Optimizer study: {title}",
        "",
        f"Generated by `{sections.get('command') or 'python scripts/report.py <study>'}` from the run directories "
        "under `runs/` and the declarations in `study.json`; regenerating it from the same runs gives the same file. "
        "Tables: `summary.csv`, `summary.md`, `summary.tex`; every paired test: `contrasts.csv`; curves: `curves.csv`.",
        "",
    ]
    lines += sections.get("related", [])
    lines += setup_section(study)
    lines += runs_section(study)
    lines += preregistration_section(declaration)
    lines += sections.get("tuning", [])
    lines += ["## Results", ""]
    if not workloads:
        lines += ["No run has finished: nothing to summarise.", ""]
    for workload in workloads:
        lines += [
            f"### {workload}",
            "",
            summary_to_markdown(summary, workload).rstrip("\n"),
            "",
        ]
        lines += more_tuned_lines(declaration, evaluations.get(workload), workload)
        for kind, caption in (
            ("train_loss", "Training loss"), ("test_error", "Test error"), ("p_sweep", "Padam p sweep")
        ):
            path = figures.get(kind, {}).get(workload)
            if path:
                lines += [f"![{caption}, {workload}]({path})", ""]
        if figures.get("train_loss", {}).get(workload):
            lines += [
                "Curves: each seed a thin line, the mean over seeds a thick one; a band (95% t-interval) only where "
                f"at least {plots.MIN_BAND_SEEDS} seeds stand behind it.",
                "",
            ]
        lines += sections.get("p_analysis", {}).get(workload, [])
    if figures.get("performance_profile"):
        lines += ["### Across workloads", "", f"![Performance profile]({figures['performance_profile'][None]})", ""]
    if figures.get("lr_sensitivity"):
        path = figures["lr_sensitivity"][None]
        lines += ["### Learning-rate sensitivity", "", f"![Learning-rate sensitivity]({path})", ""]
    if workloads:
        lines += contrasts_section(study, evaluations[workloads[0]]["per_run"], evaluations, figures, declaration)
        lines += claims_section(evaluations, declaration)
        lines += sections.get("nested", [])
        lines += sections.get("budgets", [])
        lines += sections.get("rate_check", [])
        setups = {}
        for run in study.ended_runs:
            setups.setdefault(
                run.workload,
                {
                    "model": run.config.get("model"), "epochs": run.epochs,
                    "train_subset": run.config.get("train_subset"),
                },
            )
        sources = [str((r.manifest.get("data") or {}).get("source", "")) for r in study.ended_runs]
        lines += published_section(summary, curves, {w: setups[w] for w in workloads}, data_caveat(sources))
    lines += caveats_section(study, summary, evaluations, declaration["settings"])
    return "\n".join(lines).rstrip("\n") + "\n"


def _draw_figures(study_dir, summary, curves, per_run_curves, evaluations, pdf, tuning_trials, drops, tuned):
    """Draw and save every figure; returns ``{kind: {workload or None: file name}}``.

    ``drops``: `measures.lr_drops`; ``tuned``: ``{workload: whether its rates were tuned}``.
    """
    figures = {}
    workloads = list(dict.fromkeys(summary["workload"])) if len(summary) else []
    several = len(workloads) > 1

    def record(kind, workload, name):
        figures.setdefault(kind, {})[workload] = name
        return study_dir / name

    for workload in workloads:
        for kind, draw in (("train_loss", plots.plot_train_loss), ("test_error", plots.plot_test_error)):
            draw(curves, workload, record(kind, workload, _figure_name(kind, workload, several)), pdf,
                 per_run=per_run_curves, drops=drops.get(workload, ()))  # fmt: skip
        rows = summary[summary["workload"] == workload]
        if (~rows["main"].astype(bool)).any():
            plots_sweeps.plot_p_sweep(
                summary, workload, record("p_sweep", workload, _figure_name("p_sweep", workload, several)), pdf,
                tuned=tuned.get(workload),
            )
        forest = []
        for o in evaluations[workload]["contrasts"]:
            if o.paired is None:
                continue
            mean, low, high = contrasts.finite_interval(o.paired)
            label = f"{display_name(o.spec['a'])} - {display_name(o.spec['b'])}"
            forest.append({"label": label, "mean": mean, "low": low, "high": high,
                           "n": o.paired.n, "decision": decision_kind(o)})  # fmt: skip
        if forest:  # difference tests: no equivalence margin applies to them, so none is drawn
            plots.plot_contrasts(
                forest, None, record("contrasts", workload, _figure_name("contrasts", workload, several)), pdf,
                title=f"Paired contrasts, final test error: {workload}",
            )  # fmt: skip
    if several:
        plots.plot_performance_profile(summary, record("performance_profile", None, "performance_profile.png"), pdf)
    if tuning_trials is not None:
        plots_sweeps.plot_lr_sensitivity(tuning_trials, record("lr_sensitivity", None, "lr_sensitivity.png"), pdf)
    return figures


def more_tuned_lines(declaration, evaluation, workload):
    """A flag under the results table when claim (c) chose, on validation, a p other than the main
    comparison's: that Padam variant had a choice of p on top of its rate search, more tuning than any other row."""
    if not evaluation:
        return []
    selection = verdicts.declared_p_selection(declaration, evaluation["per_run"], workload)
    if selection is None:
        return []
    default = default_partial(selection.optimizer)
    if default is not None and math.isclose(selection.partial, default):
        return []
    return [
        f"**{selection.best} had more tuning than the other rows**: claim (c) chose its p ({selection.partial:g}) on "
        "validation among the p values run, a choice no other row had, so it is an extra variant here, not on equal "
        "footing with the others.",
        "",
    ]


def nested_studies(study_dir):
    """The folders of the studies nested in this one: each holds its own study.json (e.g. a control arm)."""
    return sorted(p.parent for p in Path(study_dir).glob(f"*/{STUDY_FILE}"))


def related_lines(study_dir):
    """Links to the studies nested in this one, near the top of the report."""
    nested = [folder.name for folder in nested_studies(study_dir)]
    if not nested:
        return []
    links = "; ".join(f"`{name}/` (its report: [{name}/report.md]({name}/report.md))" for name in nested)
    return [f"Studies kept inside this one, each decided on its own (their verdicts: section \"Studies kept inside "
            f"this one\"): {links}.", ""]  # fmt: skip


def _nested_analyses(study_dir):
    """``[(folder name, Analysis)]`` of the nested studies; the error text in place of one that cannot be read."""
    out = []
    for folder in nested_studies(study_dir):
        try:
            out.append((folder.name, analyse(folder)))
        except (FileNotFoundError, ValueError) as e:
            out.append((folder.name, str(e)))
    return out


def _budget_sections(analysis, budget_dirs, study_dir, pdf):
    """The Across budgets lines and figures, with this study as the first budget."""
    others = [analyse(d, runs_required=False) for d in budget_dirs]  # a budget may not have started
    columns = budgets.budgets([analysis, *others])
    variants = budgets.shared_variants(columns)
    figures = {}
    if variants:
        curves = pd.concat([aggregate.epoch_curves(a.study) for a in (analysis, *others)], ignore_index=True)
        plots.plot_budget_curves(curves, variants, study_dir / "budget_curves.png", pdf)
        figures["budget_curves"] = "budget_curves.png"
        summary = pd.concat([a.summary for a in (analysis, *others)], ignore_index=True)
        summary = summary[summary["variant"].isin(variants)]
        plots.plot_performance_profile(summary, study_dir / "budget_profile.png", pdf)
        figures["budget_profile"] = "budget_profile.png"
        rows = budgets.budget_rows(columns, variants)
        write_text(study_dir / "budgets.csv", rows.to_csv(index=False, lineterminator="\n"))
    written = {"budgets.csv", *figures.values()} if variants else set()
    return budgets_section(columns, figures), written


# Files only some reports write; one left from an earlier report that did not write it again is removed.
OPTIONAL_OUTPUTS = ("tuning.csv", "budgets.csv", "budget_curves.png", "budget_profile.png", "rate_check.csv",
                    "rate_follow_up.csv")


def _remove_stale(study_dir, written):
    """Delete the optional outputs this report did not write (a figure's PDF twin too)."""
    for name in set(OPTIONAL_OUTPUTS) - set(written):
        (study_dir / name).unlink(missing_ok=True)
        if name.endswith(".png"):
            (study_dir / name).with_suffix(".pdf").unlink(missing_ok=True)


def _shown(path):
    """A path as the report prints it: relative to the working directory when under it (same bytes either way)."""
    path = Path(path)
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _command(study_dir, tuning_trials, budget_dirs):
    parts = ["python scripts/report.py", _shown(study_dir)]
    if isinstance(tuning_trials, (str, Path)):
        parts += ["--tuning-trials", _shown(tuning_trials)]
    for directory in budget_dirs:
        parts += ["--budget", _shown(directory)]
    return " ".join(parts)


def write_report(study_dir, pdf=False, tuning_trials=None, budget_dirs=()):
    """Write the study report and its tables and figures under `study_dir`.

    Args:
        study_dir: a study directory (``runs/<run>/`` inside; ``study.json``
            with its ``preregistration`` when the study declared one; the
            searches that chose its rates under ``tuning/``, when it tuned).
        pdf: also save every figure as PDF.
        tuning_trials: a tuning-trials DataFrame or CSV path (columns
            optimizer, learning_rate, val_accuracy, optional partial) for the
            learning-rate sensitivity figure; None to use the study's own
            searches (``tuning/*/trials.csv``), if any.
        budget_dirs: further study directories, the same comparison at other
            training budgets, to set beside this one (section "Across
            budgets", ``budgets.csv``, ``budget_curves.png``,
            ``budget_profile.png``).

    Returns:
        The path of ``report.md``.
    """
    study_dir = Path(study_dir)
    analysis = analyse(study_dir)
    study, summary, evaluations = analysis.study, analysis.summary, analysis.evaluations
    curves = aggregate.epoch_curves(study)
    per_run_curves = aggregate.run_curves(study)
    export_summary(summary, study_dir)
    write_text(study_dir / "curves.csv", curves.to_csv(index=False, lineterminator="\n"))
    write_text(study_dir / "contrasts.csv", tests_table(evaluations).to_csv(index=False, lineterminator="\n"))
    searches = tuning_results.read_searches(study_dir)
    trials = tuning_results.all_trials(searches) if tuning_trials is None else tuning_trials
    settings = analysis.declaration["settings"]
    tuned = {w: verdicts.workload_regime(study, w, settings).rates == TUNED for w in analysis.workloads}
    drops = measures.lr_drops(study)
    figures = _draw_figures(study_dir, summary, curves, per_run_curves, evaluations, pdf, trials, drops, tuned)
    sections = {"command": _command(study_dir, tuning_trials, budget_dirs), "related": related_lines(study_dir)}
    written = set()
    untuned = set()
    rows = seed_check = None
    if searches:
        rows = tuning_results.search_rows(searches, study)
        write_text(study_dir / "tuning.csv", rows.to_csv(index=False, lineterminator="\n"))
        written.add("tuning.csv")
        figure = figures.pop("lr_sensitivity", {}).get(None)
        seed_check = tuning_results.tuning_seed_check(rows, study)
        sections["tuning"] = tuning_section(rows, seed_check, figure)
        untuned = {r.variant for r in rows.itertuples()
                   if r.runs_match is False or (r.status != "finished" and r.run_rates)}  # fmt: skip
    sections["p_analysis"] = {}
    for w in analysis.workloads:
        selection = verdicts.declared_p_selection(analysis.declaration, analysis.per_run, w)
        sections["p_analysis"][w] = p_analysis_lines(
            tuning_results.p_analysis(analysis.per_run, w), w,
            tuned=tuned[w], untuned_variants=untuned,
            # The searches belong to no one workload: with several, their choice is not set beside any.
            search_rows=rows if len(analysis.workloads) == 1 else None,
            chosen=selection.partial if selection is not None else None, seed_check=seed_check,
        )  # fmt: skip
    sections["nested"] = nested_section(analysis, _nested_analyses(study_dir))
    if budget_dirs:
        sections["budgets"], budget_files = _budget_sections(analysis, budget_dirs, study_dir, pdf)
        written.update(budget_files)
    checks = rate_check.rate_check_rows(study_dir, study)
    if not checks.empty:
        write_text(study_dir / "rate_check.csv", checks.to_csv(index=False, lineterminator="\n"))
        written.add("rate_check.csv")
        sections["rate_check"] = rate_check_section(checks, study)
    declared = rate_follow_up.load_declaration(study_dir)
    if declared is not None:
        follow = rate_follow_up.follow_up_rows(checks, study, declared)
        write_text(study_dir / "rate_follow_up.csv", follow.to_csv(index=False, lineterminator="\n"))
        written.add("rate_follow_up.csv")
        sections["rate_check"] = sections.get("rate_check", []) + rate_follow_up_section(follow, declared)
    _remove_stale(study_dir, written)
    path = study_dir / "report.md"
    text = render_report(study, summary, curves, figures, evaluations, analysis.declaration, sections=sections)
    write_text(path, short_plugin_names(text, study))
    return path


def short_plugin_names(text, study):
    """`text` with each plug-in optimizer (``package.module:Class``) named by its class, said once under Setup.

    The full names stay in the CSV files and study.json, where runs are
    grouped and declared by them; the Setup note says which class is which.
    """
    names = {r.variant.partition("(")[0] for r in study.runs}
    names |= set((study.plan or {}).get("optimizers") or [])
    plugins = sorted((n for n in names if ":" in n), key=len, reverse=True)  # longest first: no name eats another
    if not plugins:
        return text
    for name in plugins:
        text = text.replace(name, display_name(name))
    note = "Plug-in optimizers are named by their class here; the CSV files and study.json use the full name: " + (
        "; ".join(f"`{display_name(n)}` is `{n}`" for n in sorted(plugins)) + "."
    )
    head, marker, rest = text.partition("\n## Runs\n")
    return f"{head}\n{note}\n{marker}{rest}" if marker else f"{text}\n{note}\n\n"


__all__ = ["render_report", "short_plugin_names", "tests_table", "write_report"]
