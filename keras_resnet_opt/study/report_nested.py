"""The report's section on the studies kept inside a study: each one's claim verdicts beside the study's own.

A study folder can hold another study in a subfolder with its own
``study.json`` and ``runs/``. The cpu-budget study keeps its control arm,
the seed report's own protocol, in ``control/``. It is its own study, with
its own runs, protocol, pairing and declaration. Its report decides its
claims, and this section only lines the verdicts up. The question the arm
answers is what changes in the seed report's claims between its own setting
and a tuned protocol, and a reader of the study's report should not have to
open a second file to see the answer.

Nothing here pairs runs across the two studies or decides a test again.
"""

from keras_resnet_opt.study.report_claims import verdict_text
from keras_resnet_opt.study.tables import markdown_table

NOT_DECLARED = "not declared here"
NO_RUNS = "no finished run yet"
# The cell of a claim the other study states differently (its own row holds that verdict).
OTHER_ROW = "-"


def _verdicts(analysis):
    """``{workload: {claim id: ClaimVerdict}}`` of a study (empty while no run has finished)."""
    return {w: {v.claim["id"]: v for v in analysis.evaluations[w]["claims"]} for w in analysis.workloads}


def nested_section(outer, nested):
    """Lines of "## Studies kept inside this one".

    Args:
        outer: the `analysis.Analysis` of the study being reported.
        nested: ``[(folder name, Analysis or the error text if it could not be read)]``.
    """
    if not nested:
        return []
    lines = [
        "## Studies kept inside this one",
        "",
        "Each is a study of its own, with its own runs, protocol, seed pairing and declaration, and its report "
        "decides its claims. This section lines their verdicts up beside this study's. It pairs no runs across "
        "studies and decides no test again.",
        "",
    ]
    own = _verdicts(outer)
    for name, inner in nested:
        lines += [f"### `{name}/`", ""]
        if isinstance(inner, str):
            lines += [f"It cannot be read: {inner}", ""]
            continue
        title = (inner.study.plan or {}).get("title")
        heading = f"{title[:1].upper()}{title[1:]}: " if title else ""
        finished = sum(r.status == "finished" for r in inner.study.runs)
        lines += [
            f"{heading}{finished} of {len(inner.study.runs)} runs finished. "
            f"Its report, with every test: [{name}/report.md]({name}/report.md).",
            "",
        ]
        theirs = _verdicts(inner)
        if not theirs:
            lines += [f"Nothing is decided there yet: {NO_RUNS}.", ""]
            continue
        for workload, verdicts in theirs.items():
            first = next(iter(verdicts.values()), None)
            if first is not None:
                lines += [f"Tested there in: {first.regime.describe()}.", ""]
        columns = [f"this study: {w}" for w in own] + [f"`{name}/`: {w}" for w in theirs]
        rows = []
        mine = {c["id"]: c for c in outer.declaration["claims"]}
        for claim in inner.declaration["claims"]:
            cells = [_cell(own[w].get(claim["id"])) for w in own]
            theirs_cells = [_cell(theirs[w].get(claim["id"])) for w in theirs]
            ours = mine.get(claim["id"])
            if ours is not None and ours["statement"] != claim["statement"]:
                # The same id, a different hypothesis: one row each, so no row sets two claims side by side.
                rows.append([f"({ours['id']}) here: {ours['statement']}"] + cells + [OTHER_ROW] * len(theirs))
                rows.append([f"({claim['id']}) in `{name}/`: {claim['statement']}"] + [OTHER_ROW] * len(own)
                            + theirs_cells)  # fmt: skip
                continue
            rows.append([f"({claim['id']}) {claim['statement']}"] + cells + theirs_cells)
        lines += [markdown_table(["Claim"] + columns, rows).rstrip("\n"), ""]
    return lines


def _cell(verdict):
    return verdict_text(verdict) if verdict is not None else NOT_DECLARED


__all__ = ["nested_section"]
