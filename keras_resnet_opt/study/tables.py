"""Rendering the study's numbers as text: cells, Markdown and LaTeX tables, the summary's exports.

The statistics are computed elsewhere (`aggregate`, `contrasts`); this module
only writes them down, so that every table of the report and of the summary
files formats a number, an interval or a p-value the same way. What a cell
says when there is no number matters as much as the number: "n/a" for a
value that could not be computed, "mean ± n/a" for an interval undefined
with one seed, "not reached" for a target no run reached.
"""

import math
from pathlib import Path

from keras_resnet_opt.atomic import write_text
from keras_resnet_opt.study.stats import CONFIDENCE

# ---------------------------------------------------------------------------
# Cells
# ---------------------------------------------------------------------------


def fmt_number(value, digits=2):
    """``value`` to `digits` decimals, without the minus of a value that rounds to zero ("0.00", not "-0.00")."""
    text = f"{value:.{digits}f}"
    return text[1:] if text.startswith("-") and float(text) == 0.0 else text


def fmt_pm(mean, half, scale=1.0, digits=2):
    """``"mean ± half"``, ``"mean ± n/a"`` for an undefined interval, ``"n/a"`` for no value."""
    if mean is None or not math.isfinite(mean):
        return "n/a"
    text = fmt_number(mean * scale, digits)
    if half is None or not math.isfinite(half):
        return f"{text} ± n/a"
    return f"{text} ± {fmt_number(half * scale, digits)}"


def fmt_value(value, scale=1.0, digits=2, suffix=""):
    """A number scaled and rounded, or "n/a" when there is none (None, NaN, inf)."""
    if value is None or not math.isfinite(value):
        return "n/a"
    return f"{fmt_number(value * scale, digits)}{suffix}"


def fmt_censored(median, reached, n, digits=0):
    """A Kaplan-Meier median with the count that reached the target: "4 (2/3)", "not reached (0/3)"."""
    if n == 0:
        return "n/a"
    count = f" ({reached}/{n})"
    if median is None or (isinstance(median, float) and math.isnan(median)):
        return "n/a" + count
    if math.isinf(median):
        return "not reached" + count
    return f"{median:.{digits}f}{count}"


def fmt_setting(value):
    """A configured setting as written in a table: "-" for unset, floats in their shortest form."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def fmt_p(value):
    """A p-value for a table cell: four decimals, "< 0.0001" below that, "-" for none."""
    if value is None or not math.isfinite(value):
        return "-"
    return "< 0.0001" if value < 1e-4 else f"{value:.4f}"


def p_is(name, value):
    """"p = 0.0123" or "p < 0.0001" (for sentences; tables use `fmt_p`)."""
    text = fmt_p(value)
    return f"{name} {text}" if text.startswith("<") else f"{name} = {text}"


def fmt_interval(low, high, digits=2):
    """``"[low, high]"``, or "n/a" when either end is undefined."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return "n/a"
    return f"[{fmt_number(low, digits)}, {fmt_number(high, digits)}]"


# ---------------------------------------------------------------------------
# Tables
# ---------------------------------------------------------------------------


def markdown_table(header, rows, numeric=False):
    """A Markdown table; ``numeric`` right-aligns every column after the first (a label, then numbers).

    A "|" inside a cell is escaped: bare, it would end the cell.
    """

    def cell(value):
        return str(value).replace("|", "\\|")

    alignment = ["---"] + ["---:" if numeric else "---"] * (len(header) - 1)
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(alignment) + "|"]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


_LATEX_ESCAPES = {
    "\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#",
    "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
}  # fmt: skip


def latex_escape(text):
    """Escape LaTeX's special characters in plain text."""
    return "".join(_LATEX_ESCAPES.get(ch, ch) for ch in str(text))


def _latex_cell(text):
    return latex_escape(text).replace("±", r"$\pm$")


def latex_table(header, rows, comment=None):
    """A plain LaTeX ``tabular`` (``\\hline`` rules, no packages needed): a label column, then numbers."""
    lines = [f"% {latex_escape(comment)}"] if comment is not None else []
    lines += [
        r"\begin{tabular}{l" + "r" * (len(header) - 1) + "}",
        r"\hline",
        " & ".join(_latex_cell(h) for h in header) + r" \\",
        r"\hline",
    ]
    lines += [" & ".join(_latex_cell(c) for c in row) + r" \\" for row in rows]
    lines += [r"\hline", r"\end{tabular}"]
    return "\n".join(lines)


# ---------------------------------------------------------------------------
# The summary table (`aggregate.summarize`) and its files
# ---------------------------------------------------------------------------

TABLE_NOTE = (
    "Descriptive, one optimizer at a time: ± is the half-width of the unpaired {conf}% t-interval over "
    "seeds (n/a with one seed); no comparison is drawn from these intervals (see the paired contrasts). "
    "Best val acc: each run's highest validation accuracy over its epochs (not its final one), mean over "
    "seeds. Gen. gap = final test error - final train error. Train loss at 25% / 50%: after the epoch "
    "that completes a quarter and a half of the budget (rounded up). Epochs/steps to target: the first "
    "epoch whose validation accuracy reaches the target declared in study.json (steps = epochs x steps "
    "per epoch), Kaplan-Meier median over seeds with runs that never reach it censored, not dropped "
    "(reached/total in brackets). Smoothness: residual SD of the per-epoch test error around its 3-epoch "
    "moving average inside constant-learning-rate phases (lower is smoother); only a phase's inner epochs "
    "give residuals, so short phases leave few of them, and on a steeply falling curve they also measure "
    "its bend, not only its noise. *Median train-step time after the first epoch, measured while "
    "whatever else ran on the machine; it never decides a claim."
)


def summary_rows(summary):
    """(header, rows) of the human-readable summary for one workload."""
    target = summary["target_val_accuracy"].iloc[0] if len(summary) else math.nan
    target_text = f"val {target * 100:g}%" if math.isfinite(target) else "target"
    confidence = summary["confidence"].iloc[0] if len(summary) else CONFIDENCE
    header = [
        "Optimizer",
        "n",
        f"Final test error % (± {confidence * 100:g}% CI)",
        "Best val acc %",
        "Final train loss",
        "Gen. gap (pp)",
        "Train loss at 25% / 50%",
        f"Epochs to {target_text} (median; reached)",
        f"Steps to {target_text} (median)",
        "Smoothness, test (pp)",
        "Step time (ms)*",
    ]
    rows = []
    for r in summary.itertuples(index=False):
        n_text = f"{r.n}" + (f" ({r.n_diverged} diverged)" if r.n_diverged else "")
        has_target = math.isfinite(r.target_val_accuracy)
        rows.append(
            [
                r.variant,
                n_text,
                fmt_pm(r.test_error_mean, r.test_error_ci, 100.0),
                fmt_value(r.best_val_accuracy_mean, 100.0),
                fmt_pm(r.train_loss_mean, r.train_loss_ci, 1.0, 4),
                fmt_value(r.gen_gap_mean, 100.0),
                f"{fmt_value(r.train_loss_25_mean, digits=3)} / {fmt_value(r.train_loss_50_mean, digits=3)}",
                fmt_censored(r.target_epoch_median, r.n_reached_target, r.n) if has_target else "no target",
                fmt_censored(r.target_steps_median, r.n_reached_target, r.n).split(" (")[0] if has_target else "-",
                fmt_value(r.smoothness_test_mean, 100.0, 3),
                fmt_value(r.step_time_ms_median, digits=0),
            ]
        )
    return header, rows


def _workloads(summary):
    return list(dict.fromkeys(summary["workload"]))


def summary_to_markdown(summary, workload=None):
    """Markdown table(s) of the summary: one per workload, headed by its name when several.

    Args:
        summary: the frame from `aggregate.summarize`.
        workload: render only this workload (no heading).
    """
    workloads = [workload] if workload is not None else _workloads(summary)
    parts = []
    for name in workloads:
        lines = []
        if workload is None and len(workloads) > 1:
            lines += [f"### {name}", ""]
        lines.append(markdown_table(*summary_rows(summary[summary["workload"] == name]), numeric=True))
        parts.append("\n".join(lines))
    if not parts:
        return "(no finished runs)\n"
    conf = summary["confidence"].iloc[0] * 100
    return "\n\n".join(parts) + "\n\n" + TABLE_NOTE.format(conf=f"{conf:g}") + "\n"


def summary_to_latex(summary):
    """LaTeX tabular(s) of the summary, one per workload, each after a comment naming it."""
    blocks = [latex_table(*summary_rows(summary[summary["workload"] == name]), comment=name)
              for name in _workloads(summary)]  # fmt: skip
    return "\n\n".join(blocks) + "\n"


def export_summary(summary, directory, stem="summary"):
    """Write ``<stem>.csv``, ``<stem>.md`` and ``<stem>.tex`` atomically; returns their paths."""
    directory = Path(directory)
    paths = {kind: directory / f"{stem}.{kind}" for kind in ("csv", "md", "tex")}
    write_text(paths["csv"], summary.to_csv(index=False, lineterminator="\n"))
    write_text(paths["md"], summary_to_markdown(summary))
    write_text(paths["tex"], summary_to_latex(summary))
    return paths
