"""The report's section "What this study can and cannot show": the claims it decides, and every limit.

Each caveat is worked out from the runs themselves (their data, epochs,
model, device, schedule and seeds), so a study is told what limits its own
numbers rather than a list written once for all.
"""


import numpy as np

from keras_resnet_opt.study import measures, planning, published, stats, verdicts
from keras_resnet_opt.study.claim_schema import UNTUNED
from keras_resnet_opt.study.report_claims import verdict_text
from keras_resnet_opt.study.report_sections import data_caveat, is_cpu
from keras_resnet_opt.study.tables import fmt_value

# Fewer residual epochs per run than this, and the smoothness measure is said to rest on few.
MANY_RESIDUALS = 6
# Fewer epochs than this is "few" next to the published recipes of 160 to 200 epochs.
FEW_EPOCHS = 100


def _scope_lines(evaluations):
    """Per workload, which claims this study decides and which it cannot (the reasons are under Claims)."""
    lines = []
    for workload, evaluation in evaluations.items():
        decided, not_decided = [], {}
        for verdict in evaluation["claims"]:
            label = f"({verdict.claim['id']})"
            text = verdict_text(verdict)
            if verdict.verdict in (verdicts.HOLDS, verdicts.CONTRADICTED, verdicts.INCONCLUSIVE):
                decided.append(f"{label} {text.lower()}")
            else:
                not_decided.setdefault(text.removeprefix("Not decided: ").lower(), []).append(label)
        line = f"- {workload}: decides " + (", ".join(decided) if decided else "no claim") + "; cannot decide "
        groups = [f"{', '.join(labels)} ({why})" for why, labels in not_decided.items()]
        lines.append(line + ("; ".join(groups) if groups else "none of its claims") + ".")
    return lines


def _p_end_caveats(study):
    """Where Padam at p = 1/2 is set beside AMSGrad as "the same method", and their betas differ in these runs.

    Padam's p = 1/2 is AMSGrad only at equal betas and epsilon; the registry
    gives each its reference's settings, so the runs' own manifests decide
    whether the two ends of the p analysis are the study's AMSGrad.
    """
    settings = {}
    for run in study.ended_runs:
        optimizer = run.manifest.get("optimizer_config") or {}
        key = "padam(p=1/2)" if run.optimizer == "padam" and run.partial == 0.5 else run.optimizer
        if key in ("padam(p=1/2)", "amsgrad"):
            settings.setdefault(key, {(k, optimizer.get(k)) for k in ("beta_1", "beta_2", "epsilon")})
    if len(settings) < 2 or settings["padam(p=1/2)"] == settings["amsgrad"]:
        return []
    ends = "; ".join(f"{name}: " + ", ".join(f"{k} {v:g}" for k, v in sorted(values) if v is not None)
                     for name, values in sorted(settings.items()))  # fmt: skip
    return [
        f"Padam at p = 1/2 is AMSGrad's update only at the same betas and epsilon, and here they differ ({ends}): "
        "the p = 1/2 end of the p analysis is AMSGrad with Padam's settings, not the study's amsgrad row."
    ]


def _model_caveat(configs):
    """The networks the published optimizer comparisons trained, where this study trains others.

    The claims come from those comparisons (the Padam paper's wide ResNet-18
    and the reproducibility report's VGG-16); an optimizer ranking on one
    network is not known to hold on another.
    """
    ours = sorted({str(c.get("model")) for c in configs if c.get("model")})
    theirs = sorted({r.model for r in published.PUBLISHED if r.source in published.OPTIMIZER_COMPARISONS})
    others = [m for m in theirs if m not in ours]
    if not ours or not others:
        return []
    also = " also" if len(others) < len(theirs) else ""
    return [
        f"Model: {', '.join(ours)}, where the published optimizer comparisons the claims come from{also} trained "
        f"{', '.join(others)}: a ranking of optimizers on one network is not known to hold on another."
    ]


def _seed_caveats(evaluations, settings):
    """How large a difference the study's seeds can find, per workload (`planning`); none without settings."""
    caveats = []
    for workload, evaluation in evaluations.items() if settings else ():
        plan = planning.planning(evaluation["contrasts"], settings)
        if plan is None or not plan.decides:  # below the minimum nothing is decided at all (said apart)
            continue
        where = f"{workload}: " if len(evaluations) > 1 else ""
        family, alone = plan.detectable_texts()
        caveats.append(
            f"{where}{plan.ran} paired seeds: at this study's spread (paired SD {plan.sd:.2f} pp), a declared "
            f"contrast finds a true difference {planning.POWER:.0%} of the time only when it is {family} or more "
            f"(a claim of one test: {alone}); smaller real differences mostly end inconclusive, which is not "
            "evidence of none (the planning table under Paired contrasts)."
        )
    return caveats


def _speed_resolution_caveats(settings, summary):
    """What whole-epoch times to target let a speed test decide, per workload, at the seeds it decides with."""
    if not settings or settings.get("target_val_accuracy") is None or not len(summary):
        return []
    alpha, min_seeds = float(settings["alpha"]), int(settings["min_seeds"])
    main = summary[summary["main"].astype(bool)]
    workloads = list(dict.fromkeys(main["workload"]))
    lines = []
    for workload in workloads:
        rows = main[main["workload"] == workload]
        seeds = int(rows["n"].max())
        if seeds < min_seeds:
            continue  # nothing is decided with fewer seeds than declared: no resolution to speak of
        gap = stats.smallest_decidable_gap(seeds, stats.rounding_sd(1.0), alpha)
        medians = rows["target_epoch_median"].to_numpy(dtype=float)
        reached = medians[np.isfinite(medians)]
        where = ""
        if reached.size:
            where = (f" The optimizers' median times to the target are epochs {fmt_value(reached.min(), digits=0)} "
                     f"to {fmt_value(reached.max(), digits=0)}")  # fmt: skip
            never = int((~np.isfinite(medians) & ~np.isnan(medians)).sum())
            where += f"; for {never} optimizer(s) most runs never reach it." if never else "."
        label = f" ({workload})" if len(workloads) > 1 else ""
        lines.append(
            f"Times to target are whole epochs{label}: with {seeds} paired seeds, a speed difference is decided "
            f"(two-sided, alpha = {alpha:g}, a test on its own) only when the two times differ by at least "
            f"{gap:.2f} epochs on average, even when every seed agrees"
            f"{' (one epoch at every seed is not enough)' if gap > 1 else ''}; inside a Holm family it takes more. "
            f"A speed claim left inconclusive here may be one the measure could not resolve.{where}"
        )
    return lines


def _drop_timing_caveats(study, evaluations):
    """Where most runs reach the speed target in the first epoch after a learning-rate drop.

    A drop shared by every optimizer then sets the time to target more than
    the optimizer does: the speed tests compare who was already close when
    the rate fell.
    """
    lines = []
    for workload, drops in measures.lr_drops(study).items():
        if not drops or workload not in evaluations:
            continue
        per_run = evaluations[workload]["per_run"]
        reached = per_run.loc[(per_run["workload"] == workload) & per_run["target_reached"].astype(bool),
                              "target_epoch"].astype(int)  # fmt: skip
        after = {measures.first_epoch_after(d) for d in drops}
        at_drop = int(reached.isin(after).sum())
        if len(reached) and at_drop * 2 > len(reached):
            epochs = " or ".join(str(e) for e in sorted(after))
            lines.append(
                f"Speed ({workload}): {at_drop} of the {len(reached)} runs that reach the validation target reach it "
                f"in the first epoch after a learning-rate drop (epoch {epochs}): the drop, the same for every "
                "optimizer, sets those times more than the optimizer does, so the speed tests mostly tell which "
                "runs were already at the target before it."
            )
    return lines


def _smoothness_caveats(study):
    """How many epochs per run the smoothness measure rests on, under each workload's schedule."""
    counts = {}
    for run in study.ended_runs:
        counts.setdefault(run.workload, []).append(measures.residual_epochs(run) if run.history is not None else 0)
    lines = []
    for workload, values in counts.items():
        low, high = min(values), max(values)
        if high == 0:
            lines.append(
                f"Smoothness ({workload}) is not measured: no run has a constant-learning-rate phase of three "
                "epochs, so the claim about it cannot be tested here."
            )
        elif low < MANY_RESIDUALS:
            many = f"{low}" if low == high else f"{low} to {high}"
            lines.append(
                f"Smoothness ({workload}) rests on {many} residual epoch(s) per run: only the inner epochs of a "
                "constant-learning-rate phase give one, so with few of them it reads little of each curve, and on "
                "a steeply falling stretch it also measures the curve's bend, not only its noise."
            )
    return lines


def caveats_section(study, summary, evaluations, settings=None):
    """"## What this study can and cannot show": the claims it decides, and what limits every conclusion.

    `settings` are the declaration's (for the speed margin against the
    measure's one-epoch resolution); None leaves that caveat out.
    """
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
    if data_caveat(sources):
        caveats.append(data_caveat(sources))
    elif not sources:
        caveats.append("Data source unknown (no run has finished).")
    epochs = sorted({int(c.get("epochs") or 0) for c in configs})
    if epochs and max(epochs) < FEW_EPOCHS:
        caveats.append(
            f"Few epochs ({', '.join(str(e) for e in epochs)}; the published recipes train 160 to 200): "
            "the late-training behaviour the claims are about may not be reached."
        )
    caveats += _model_caveat(configs)
    devices = [str(m.get("device")) for m in manifests if m.get("device")]
    if is_cpu(devices):
        caveats.append("Trained on CPU: step times are CPU numbers and do not transfer to accelerators.")
    caveats.append(
        "Step times were measured while whatever else ran on the machine; they are shown for orientation and "
        "decide nothing (speed claims are decided on steps to the validation-accuracy target)."
    )
    if settings and settings.get("target_val_accuracy") is not None and epochs and min(epochs) > 0:
        margin_epochs = float(settings["speed_margin_pp"]) * min(epochs) / 100.0
        if margin_epochs <= 1.0 + 1e-9:
            caveats.append(
                f"The speed margin ({float(settings['speed_margin_pp']):g} pp of the budget) is {margin_epochs:g} "
                f"epoch{'' if margin_epochs == 1 else 's'} at {min(epochs)} epochs, no wider than the resolution "
                "times to target are recorded in (one epoch): runs that tie to the epoch at every seed are weak "
                "evidence of parity, and may leave a non-inferiority test in speed undecided."
            )
    caveats += _speed_resolution_caveats(settings, summary)
    caveats += _drop_timing_caveats(study, evaluations)
    caveats += _smoothness_caveats(study)
    if any(c.get("augment") for c in configs):
        caveats.append(
            "Train loss and train error are Keras' running averages over the last epoch's augmented batches, as "
            "training saw them, not a pass of the final model over the training images: the generalisation gap "
            "(test error - train error) sets a clean test error beside a train error on augmented images."
        )
    caveats += _p_end_caveats(study)
    caveats += _seed_caveats(evaluations, settings)
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
                      if v["claims"] and v["claims"][0].regime.rates == UNTUNED})  # fmt: skip
    if untuned:
        caveats.append(
            f"Untuned learning rates ({', '.join(untuned)}): one configured rate per optimizer, never tuned for this "
            "setup, so the comparison favours the optimizers whose defaults suit it."
        )
    lines = [
        "## What this study can and cannot show",
        "",
        "It shows each optimizer's final test error at this budget with paired differences between optimizers "
        "(paired by seed), and speed as steps to the declared validation target; what it decides about the claims, "
        "and what it cannot decide (the reasons are under Claims):",
        "",
    ]
    lines += _scope_lines(evaluations) + ["", "Every conclusion above is limited by:", ""]
    return lines + [f"- {c}" for c in caveats] + [""]
