"""The report's Tuning section and its p analysis: how each variant's rate was chosen, and Padam across p.

The numbers come from `tuning_results` (the search folders under
``STUDY/tuning`` and the final runs); this module only writes them down. The
tuning table shows every rate tried with its final-epoch validation accuracy,
so a reader sees the whole curve the choice was made on (selection on
validation, never on test), where the winner sits, and whether the final runs
trained at the rate the search chose.
"""

import math

from keras_resnet_opt.study.tables import fmt_pm, markdown_table
from keras_resnet_opt.study.verdicts import is_interior_p

EDGE_NOTES = {
    "interior": "interior",
    "low edge": "**low edge** (the optimum may lie lower)",
    "high edge": "**high edge** (the optimum may lie higher)",
    "single point": "one rate only",
}


def _rate(value):
    return f"{value:.3g}" if math.isfinite(value) else "-"


def _tried(rates, accuracies, best):
    cells = []
    for rate, accuracy in zip(rates, accuracies):
        text = f"{_rate(rate)}: " + (f"{accuracy * 100:.2f}" if math.isfinite(accuracy) else "failed")
        cells.append(f"**{text}**" if math.isclose(rate, best, rel_tol=1e-6) else text)
    return "; ".join(cells) if cells else "-"


def _runs_used(row):
    if not row.run_rates:
        return "no final runs yet"
    rates = ", ".join(_rate(r) for r in row.run_rates)
    if row.runs_match is None:
        return rates
    return f"{rates} (as chosen)" if row.runs_match else f"{rates} (**not the chosen rate**)"


def _p_text(partial):
    return "-" if partial is None or not math.isfinite(partial) else f"{partial:g}"


def tuning_section(rows, seeds, figure=None):
    """"## Tuning": one row per search, the budget each spent, the seed rule, the sensitivity figure.

    Args:
        rows: `tuning_results.search_rows`.
        seeds: `tuning_results.tuning_seed_check` (tuning seeds, final seeds, overlap).
        figure: the learning-rate sensitivity figure's file name, or None.
    """
    sizes = sorted({int(v) for v in rows.get("val_size", []) if v is not None and v == v})
    held_out = (f"the {' or '.join(f'{v:,}' for v in sizes)} held-out training images" if sizes
                else "the held-out training images")  # fmt: skip
    lines = [
        "## Tuning",
        "",
        "Each variant's learning rate is chosen before its final runs by its own search (`tuning/<variant>/`: "
        f"Keras Tuner's trials, `trials.csv`, `best_hparams.json`), on the final-epoch validation accuracy of "
        f"{held_out}, never on test; the last column checks that the final runs trained at the chosen rate. Rates "
        "tried: learning rate: final-epoch validation accuracy %, the winner in bold.",
        "",
    ]
    table = []
    for row in rows.itertuples(index=False):
        if row.status != "finished":
            table.append([row.search, _p_text(row.partial), "-", "search not finished", "-", "-", "-", "-"])
            continue
        extensions = max(0, row.trials - row.initial) if row.initial else "-"
        table.append(
            [
                row.variant, _p_text(row.partial), f"{row.completed}/{row.trials} ({extensions})",
                _tried(row.rates, row.val_accuracy, row.best_lr), _rate(row.best_lr),
                f"{row.best_val_accuracy * 100:.2f}" if math.isfinite(row.best_val_accuracy) else "-",
                EDGE_NOTES.get(row.edge, row.edge), _runs_used(row),
            ]
        )  # fmt: skip
    lines += [
        markdown_table(
            ["Variant", "p", "Trials completed/run (extensions)", "Rates tried (val acc %)", "Chosen rate",
             "Val acc %", "Winner", "Final runs trained at"],
            table,
        ).rstrip("\n"),
        "",
    ]  # fmt: skip
    finished = rows[rows["status"] == "finished"]
    if len(finished):
        budgets = sorted(set(finished["trials"]))
        starts = sorted(set(finished["initial"]))
        start = (f"every search started from the same {starts[0]} grid points" if len(starts) == 1 and starts[0]
                 else f"the searches started from {', '.join(str(s) for s in starts)} grid points (not equal)")
        lines.append(
            f"Budget: {start} and stepped one point further out while its winner sat on an edge (the extensions "
            "in brackets); "
            + (f"every finished search ran {budgets[0]} trials." if len(budgets) == 1
               else f"finished searches ran {budgets[0]} to {budgets[-1]} trials.")
        )  # fmt: skip
        lines.append("")
    tuning_seeds, final_seeds, overlap = seeds
    if tuning_seeds:
        names = ", ".join(str(s) for s in tuning_seeds)
        finals = ", ".join(str(s) for s in final_seeds) or "none yet"
        verdict = (
            "disjoint: no final run shares a seed (initial weights, data order) with the selection"
            if not overlap
            else f"**overlap on {', '.join(str(s) for s in overlap)}**: selection saw a final run's seed"
        )
        lines += [f"Tuning seed {names}; final runs' seeds {finals}: {verdict}.", ""]
    if figure:
        lines += [f"![Learning-rate sensitivity]({figure})", ""]
    return lines


def _tuning_seed_choice(search_rows, chosen, seed_check):
    """Claim (c)'s choice made again on the tuning seed alone: each interior p's search, its final-epoch
    validation accuracy at the rate it chose. The final runs choose p on their own validation error, which goes
    with their test error; the searches ran on a seed no final run shares, so where they agree the choice does
    not lean on that link."""
    if search_rows is None or not len(search_rows):
        return []
    rows = search_rows[(search_rows["optimizer"] == "padam") & search_rows["partial"].notna()
                       & (search_rows["status"] == "finished")]  # fmt: skip
    rows = rows[rows["partial"].map(is_interior_p) & rows["best_val_accuracy"].notna()]
    if len(rows) < 2:
        return []
    ranked = rows.sort_values(["best_val_accuracy", "partial"], ascending=[False, True])
    listing = "; ".join(f"p = {r.partial:g}: {r.best_val_accuracy * 100:.2f}%" for r in ranked.itertuples())
    best = float(ranked["partial"].iloc[0])
    tuning_seeds, _, overlap = seed_check or ((), (), ())
    seeds = ", ".join(str(s) for s in tuning_seeds) or "unrecorded"
    shared = (f"which final runs share: {', '.join(str(s) for s in overlap)}" if overlap
              else "which no final run shares" if tuning_seeds else "not recorded")  # fmt: skip
    agree = ("the same p as the final runs' choice" if chosen is not None and abs(best - chosen) < 1e-12
             else f"**a different p** from the final runs' choice (p = {chosen:g})" if chosen is not None
             else "no final-run choice to compare")  # fmt: skip
    return [
        f"The same choice on the tuning seed alone (seed {seeds}, {shared}), by each interior p's "
        f"final-epoch validation accuracy at its search's chosen rate: {listing}. It picks p = {best:g}, {agree}. "
        "Claim (c) chooses on the final runs' own validation error, which goes with their test error (a lucky seed "
        "helps both), so its test of the chosen p leans a little in the chosen p's favour; a choice the tuning "
        "seed repeats leans on that less. Descriptive: this decides nothing.",
        "",
    ]


def p_analysis_lines(frame, workload, tuned=True, untuned_variants=(), search_rows=None, chosen=None,
                     seed_check=None):  # fmt: skip
    """"### Padam across p": final validation and test error at each p (at its own tuned rate), with the two ends.

    Args:
        frame: `tuning_results.p_analysis`.
        workload: its workload label.
        tuned: whether the study declares its rates tuned (else the text
            says the rates were not tuned for each p).
        untuned_variants: variants whose final runs did not train at their
            search's chosen rate, or had no finished search (`search_rows`);
            marked in the table.
        search_rows: `tuning_results.search_rows`, for the same choice made on
            the tuning seed; None leaves it out.
        chosen: the p claim (c) chose on the final runs' validation error.
        seed_check: `tuning_results.tuning_seed_check` of the searches.
    """
    if frame is None or frame.empty or frame["end"].all() or (~frame["end"]).sum() < 2:
        return []
    table = []
    for row in frame.itertuples(index=False):
        label = row.variant + (" (**not at its search's chosen rate**)" if row.variant in untuned_variants else "")
        if row.end:
            label += " (p -> 0 end)" if row.partial == 0.0 else " (p = 1/2 end)"
        table.append(
            [label, "-" if row.end else f"{row.partial:g}", str(row.n),
             fmt_pm(row.val_error_mean, row.val_error_ci, 100.0), fmt_pm(row.test_error_mean, row.test_error_ci, 100.0)]
        )  # fmt: skip
    return [
        f"### Padam across p: {workload}",
        "",
        ("Each p at its own tuned learning rate (the rate that best suits p moves by orders of magnitude with p); "
         if tuned else
         "**The rates were not tuned for each p** (the rate that best suits p moves by orders of magnitude with p, "
         "so this compares the p values at rates that favour some of them); ")
        + "final validation and test error with the unpaired 95% t-interval over seeds; SGD-momentum and AMSGrad "
        "are the two ends Padam interpolates between. Which p is best is decided on validation in claim (c), never "
        "on test.",
        "",
        markdown_table(["Variant", "p", "n", "Final val error %", "Final test error %"], table).rstrip("\n"),
        "",
    ] + _tuning_seed_choice(search_rows, chosen, seed_check)


__all__ = ["p_analysis_lines", "tuning_section"]
