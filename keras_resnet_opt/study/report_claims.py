"""The report's Pre-registration and Claims sections: what was declared, and each claim's verdict in words.

The verdicts are decided in `verdicts`; this module only says them: the
declaration as study.json holds it (with what was added after the results),
then, per workload, each claim's verdict, why a claim was not decided, and
every test behind it with its paired interval, p-values and family.
"""

import math

from keras_resnet_opt.study import claim_schema, contrasts, verdicts
from keras_resnet_opt.study.report_contrasts import metric_digits
from keras_resnet_opt.study.tables import fmt_interval, fmt_value, p_is

VERDICT_TEXT = {
    verdicts.HOLDS: "Holds",
    verdicts.CONTRADICTED: "Contradicted",
    verdicts.INCONCLUSIVE: "Inconclusive",
    verdicts.TOO_FEW_SEEDS: "Not decided: too few seeds",
    verdicts.WRONG_REGIME: "Not decided: this setting cannot decide it",
    verdicts.NOT_TESTABLE: "Not testable",
}


def verdict_text(verdict):
    """A `verdicts.ClaimVerdict` in words; a claim contradicted by a part its setting could decide says so."""
    text = VERDICT_TEXT[verdict.verdict]
    if verdict.verdict == verdicts.CONTRADICTED and verdict.reasons:
        text += " (in part; the setting cannot decide the rest)"
    return text


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
        + "; a run that never reaches it is censored, not dropped. Times are recorded in whole epochs, so their "
        "paired tests and intervals never use a standard deviation below what that rounding alone gives (one "
        "epoch / sqrt(6) for a difference of two times): seeds that agree to the epoch are not taken as certain.",
        f"- A claim about generalisation needs at least {settings['min_epochs_generalisation']} epochs.",
        "- Learning rates: "
        + ("; ".join(f"{k} {v}" for k, v in rates.items()) if rates else "not declared (inferred per workload)")
        + ".",
        f"- Settings {_when(settings)}.",
    ]


def preregistration_section(declaration):
    """"## Pre-registration": the decision settings, contrasts and claims as declared, and when.

    Shown before any result so that a reader sees what was fixed in advance
    (and what was added after the results, or superseded) before seeing how
    it came out.
    """
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
    sources = sorted({c.get("source") for c in declaration["claims"] if c.get("source") in claim_schema.CLAIM_SOURCES})
    if sources:
        lines += ["", "Sources:", ""] + [f"- {s}: {claim_schema.CLAIM_SOURCES[s]}" for s in sources]
    if declaration.get("superseded"):
        lines += ["", "Superseded declarations (replaced after results existed):", ""]
        for item in declaration["superseded"]:
            label = item.get("id") or "settings"
            when = f"declared {item.get('declared_at')}, replaced {item.get('superseded_at')}"
            lines.append(f"- {item['kind']} `{label}`, {when}")
    return lines + [""]


def _test_line(outcome, per_run, workload, decided, in_family=True):
    """One test in words; ``in_family`` False for a test its setting cannot decide, shown with its unadjusted p
    only (a Holm p over a family that decides nothing would read as a decision)."""
    spec, pair = outcome.spec, outcome.paired
    if pair is None:
        return f"{spec['part']}: not run."
    if outcome.status == contrasts.NO_TARGET:
        return f"{spec['part']}: no validation-accuracy target declared, so no time to target."
    metric = spec["metric"]
    unit, _, what = claim_schema.METRICS[metric]
    digits = metric_digits(metric)
    t = pair.t
    low, high = t.interval(0.95)
    text = (
        f"{spec['part']}: {what}, {pair.a} - {pair.b} = {fmt_value(t.mean, digits=digits)} {unit}, 95% paired CI "
        f"{fmt_interval(low, high, digits)} (n = {pair.n}, seeds {', '.join(str(s) for s in pair.seeds) or '-'})"
    )
    if spec["form"] != claim_schema.DIFFERENCE:
        low90, high90 = t.interval(0.90)
        kind = "equivalence (TOST)" if spec["form"] == claim_schema.EQUIVALENCE else "non-inferiority"
        text += f"; {kind} margin ±{outcome.margin:g} {unit}, 90% CI {fmt_interval(low90, high90, digits)}"
    else:
        text += f"; claimed: {pair.a} {spec['direction']}"
    if metric in contrasts.CENSORED_METRICS and pair.a_reached:
        text += (
            f"; reached the target: {pair.a} {sum(pair.a_reached)}/{pair.n}, {pair.b} {sum(pair.b_reached)}/{pair.n}"
        )
    if in_family and math.isfinite(outcome.p_adjusted):
        text += f"; {p_is('p', outcome.p)}, {p_is('Holm p', outcome.p_adjusted)} (family of {outcome.family_size})"
    elif math.isfinite(outcome.p):
        where = "outside the family" if in_family else "in no family: this setting cannot decide it"
        text += f"; {p_is('p', outcome.p)} (unadjusted; {where})"
    status = outcome.status if decided else "not decided" if not in_family else {
        contrasts.TOO_FEW_SEEDS: f"too few seeds ({pair.n})",
        contrasts.BOTH_CENSORED: "neither run reached the target in some seed",
    }.get(outcome.status, "not decided")  # fmt: skip
    text += f": **{status}**."
    if metric in contrasts.CENSORED_METRICS:
        extra = []
        for loss_metric in ("train_loss_25", "train_loss_50"):
            other = contrasts.paired(per_run, workload, pair.a, pair.b, loss_metric)
            mean, lo, hi = contrasts.finite_interval(other)
            extra.append(f"{loss_metric.split('_')[-1]}%: {fmt_value(mean, digits=3)} {fmt_interval(lo, hi, 3)}")
        text += f" Second convergence measure (not deciding), paired train-loss difference at {'; '.join(extra)}."
    return text


def claims_section(evaluations, declaration):
    """"## Claims": per workload, each claim's verdict, why an undecided one is not decided, and its tests."""
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
                f"**{verdict_text(verdict)}.**"
            )
            why = "Why the rest is not decided" if verdict.verdict == verdicts.CONTRADICTED else "Why not decided"
            lines += [f"  - {why}: {reason}." for reason in verdict.reasons]
            decided = verdict.verdict in (verdicts.HOLDS, verdicts.CONTRADICTED, verdicts.INCONCLUSIVE)
            in_family = verdict.verdict != verdicts.WRONG_REGIME
            if verdict.decidable:
                lines.append("  - The parts this setting can decide, as their own Holm family:")
                lines += [f"    - {_test_line(o, evaluation['per_run'], workload, True)}" for o in verdict.decidable]
                lines.append("  - The parts it cannot decide:")
                parts = {o.spec["part"] for o in verdict.decidable}
                lines += [f"    - {_test_line(o, evaluation['per_run'], workload, False, in_family=False)}"
                          for o in verdict.outcomes if o.spec["part"] not in parts]  # fmt: skip
            else:
                lines += [f"  - {_test_line(o, evaluation['per_run'], workload, decided, in_family)}"
                          for o in verdict.outcomes]  # fmt: skip
            lines += [f"  - {note}" for note in verdict.notes]
        lines.append("")
    return lines
