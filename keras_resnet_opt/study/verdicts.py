"""Claim verdicts: each declared claim decided in each workload, or told why it cannot be.

A claim is a conjunction of paired tests (`claim_schema`, `contrasts`). Its verdict,
in this order of precedence:

1. *not testable*: an optimizer it needs was not run (tests marked
   ``if_run`` are skipped instead, and said so), or it needs a
   time-to-target and the study declared no target.
2. *not decided (regime)*: the setting cannot decide it, whatever the
   numbers say. Two rules, both declared in the study's settings:
   - learning rates: a claim lists the regimes it can be decided in. The
     Padam paper's claims compare optimizers at their best, so they need
     rates tuned for each ("tuned"); the seed report's claims can also be
     tested in the seed report's own protocol ("protocol"). At untuned
     default rates a comparison favours whichever default suits the setup.
   - epochs: a test about *generalisation* needs at least
     ``min_epochs_generalisation`` epochs. Before the training set is
     (nearly) fitted, test error measures how far optimisation got, not how
     well a fit generalises.
   Only the epoch rule blocking a claim leaves its other parts decidable, as
   their own family (``decidable``); a claim is a conjunction, so one of
   those parts contradicted (every decidable part with enough seeds) makes
   the verdict *contradicted* (in part) all the same, with the regime's
   reasons kept for the parts left undecided.
3. *too few seeds*: some test has fewer paired seeds than ``min_seeds`` (or
   an equivalence on time to target has a seed where neither run got there).
4. *contradicted* when any test is contradicted, *holds* when every test
   holds, otherwise *inconclusive*.

Claim (c) (the best p) first selects, on *validation* error (mean over the
seeds every candidate ran), the best Padam p strictly between 0 and 1/2, and
then tests it against both ends (SGD-momentum, AMSGrad) on test error; the
test set never takes part in the selection.
"""

import dataclasses
import math

from keras_resnet_opt.study import claim_schema, contrasts
from keras_resnet_opt.study.runs import seed_key

HOLDS = contrasts.HOLDS
CONTRADICTED = contrasts.CONTRADICTED
INCONCLUSIVE = contrasts.INCONCLUSIVE
TOO_FEW_SEEDS = contrasts.TOO_FEW_SEEDS
WRONG_REGIME = "not decided (regime)"
NOT_TESTABLE = "not testable"


@dataclasses.dataclass(frozen=True)
class Regime:
    """The setting a workload was run in, as far as the decision rules care.

    Attributes:
        workload: the workload label.
        preset: its preset.
        epochs: its training budget.
        train_subset: training-subset size, None for the full split.
        rates: "tuned", "protocol" or "untuned".
        rates_source: "declared" (study.json) or how it was inferred.
        min_epochs_generalisation: the declared epoch rule.
    """

    workload: str
    preset: str
    epochs: int
    train_subset: int | None
    rates: str
    rates_source: str
    min_epochs_generalisation: int

    def describe(self):
        data = "full training split" if not self.train_subset else f"{self.train_subset}-image training subset"
        rates = {
            claim_schema.TUNED: "learning rates tuned per optimizer",
            claim_schema.PROTOCOL: "learning rates fixed by the reproduced protocol",
            claim_schema.UNTUNED: "untuned default learning rates",
        }[self.rates]
        return f"{self.preset}: {self.epochs} epochs on the {data}, {rates} ({self.rates_source})"


def infer_rates(runs):
    """How a workload's learning rates were chosen, when study.json does not say.

    "tuned" when every run was started with ``--hparams`` (a tuning search's
    output), else "untuned": a rate that cannot be traced to a tuning is
    treated as untuned.
    """
    commands = [str((r.manifest or {}).get("command", "")) for r in runs]
    if commands and all("--hparams" in c for c in commands):
        return claim_schema.TUNED, "inferred: every run was started with --hparams"
    return claim_schema.UNTUNED, "inferred: no tuned-hyperparameters file in the runs' commands"


def workload_regime(study, workload, settings):
    runs = [r for r in study.ended_runs if r.workload == workload]
    config = runs[0].config if runs else {}
    preset = str(config.get("preset"))
    declared = settings.get("learning_rates") or {}
    if preset in declared or "*" in declared:
        rates, source = declared.get(preset, declared.get("*")), "declared in study.json"
    else:
        rates, source = infer_rates(runs)
    return Regime(
        workload, preset, int(config.get("epochs") or 0), config.get("train_subset"), rates, source,
        int(settings["min_epochs_generalisation"]),
    )  # fmt: skip


@dataclasses.dataclass(frozen=True)
class ClaimVerdict:
    """A claim's verdict in one workload.

    Attributes:
        claim: the declared claim (dict).
        regime: the `Regime` it was tested in.
        verdict: one of the verdict constants.
        reasons: why it was not decided, one sentence each.
        outcomes: the evaluated tests (`contrasts.Outcome`), skipped ones left out.
        notes: further lines (the p selection, skipped tests).
        decidable: when only the epoch rule blocks the claim, its other tests
            (those not about generalisation) evaluated as their own family:
            what this setting can say about the claim's parts.
    """

    claim: dict
    regime: Regime
    verdict: str
    reasons: tuple
    outcomes: tuple
    notes: tuple
    decidable: tuple = ()


@dataclasses.dataclass(frozen=True)
class PSelection:
    """Claim (c)'s choice of p, made on validation.

    Attributes:
        best: the interior variant (0 < p < 1/2) with the lowest mean selection measure.
        partial: its p.
        ranked: every variant considered (the interior ones and the ends), best first.
        means: ``{variant: mean selection measure}`` over ``seeds``.
        seeds: the seeds every considered variant ran (empty: each its own).
        candidates: ``{interior variant: p}``.
        optimizer: the optimizer whose p was chosen.
    """

    best: str
    partial: float
    ranked: tuple
    means: dict
    seeds: tuple
    candidates: dict
    optimizer: str


def is_interior_p(p):
    """Whether Padam's p lies strictly between its ends (p -> 0 is SGD-momentum, p = 1/2 is AMSGrad)."""
    return 0.0 < float(p) < 0.5


def select_p(spec, measures, workload):
    """The `PSelection` of a ``best_p`` declaration, or None when no run has
    an interior p. Selection is on ``spec["selection"]`` (validation error),
    never on test."""
    rows = measures[measures["workload"] == workload]
    optimizer = spec.get("optimizer", "padam")
    candidates = {}
    for variant, group in rows[rows["optimizer"] == optimizer].groupby("variant"):
        p = float(group["partial"].iloc[0])
        if is_interior_p(p):
            candidates[variant] = p
    if not candidates:
        return None
    ends = [e for e in spec["ends"] if e in set(rows["variant"])]
    # Padam run at an end of its range (p = 0 or 1/2, at Padam's own rate) is listed beside the ends.
    ends += sorted(v for v, g in rows[rows["optimizer"] == optimizer].groupby("variant")
                   if float(g["partial"].iloc[0]) in (0.0, 0.5))  # fmt: skip
    considered = list(candidates) + ends
    common = set.intersection(*[set(rows.loc[rows["variant"] == v, "seed"]) for v in considered])
    scope = rows[rows["variant"].isin(considered)]
    if common:
        scope = scope[scope["seed"].isin(common)]
    means = scope.groupby("variant")[spec.get("selection", "val_error")].mean().to_dict()
    best = min(candidates, key=lambda v: (means.get(v, math.inf), candidates[v]))
    ranked = tuple(sorted(considered, key=lambda v: (means.get(v, math.inf), v)))
    return PSelection(best, candidates[best], ranked, means, tuple(sorted(common, key=seed_key)), candidates,
                      optimizer)


def declared_p_selection(declaration, measures, workload):
    """The `PSelection` of the declaration's best-p claim (claim (c)) in ``workload``, or None."""
    for claim in declaration.get("claims", []):
        if claim.get("best_p"):
            return select_p(claim["best_p"], measures, workload)
    return None


def best_p_tests(claim, measures, workload):
    """Claim (c): the selected p (on validation) and the tests against the ends.

    Returns:
        ``(tests, notes)``; tests is empty when there is no candidate.
    """
    spec = claim["best_p"]
    selection = select_p(spec, measures, workload)
    if selection is None:
        return [], (f"No {spec.get('optimizer', 'padam')} run with p strictly between 0 and 1/2: nothing to select.",)
    seeds_text = ", ".join(str(s) for s in selection.seeds) if selection.seeds else "each one's own"
    listing = "; ".join(
        f"{v}{f' (p = {selection.candidates[v]:g})' if v in selection.candidates else ''} "
        f"{selection.means.get(v, math.nan) * 100:.2f}%"
        for v in selection.ranked
    )
    best = selection.best
    notes = (
        f"Selection on validation error (mean over seeds {seeds_text}), never on test: {listing}. "
        f"Best interior p: {best} (p = {selection.partial:g}); best overall: {selection.ranked[0]}.",
    )
    metric = spec.get("metric", "test_error")
    tests = [
        {"part": f"{best} below {end}", "a": best, "b": end, "metric": metric, "form": claim_schema.DIFFERENCE,
         "direction": "lower", "margin": None, "generalisation": False, "if_run": False}
        for end in spec["ends"]
    ]  # fmt: skip
    return tests, notes


def decide_claim(claim, measures, workload, regime, settings):
    """The `ClaimVerdict` of one declared claim in one workload (see the module docstring)."""
    notes = []
    tests = list(claim["tests"])
    if claim.get("best_p"):
        selected, selection_notes = best_p_tests(claim, measures, workload)
        tests += selected
        notes += selection_notes
    outcomes = contrasts.evaluate_family(tests, measures, workload, settings) if tests else []
    kept = []
    missing = []
    run = contrasts.variants_in(measures, workload)
    for outcome in outcomes:
        if outcome.status == contrasts.NOT_RUN:
            absent = [v for v in (outcome.spec["a"], outcome.spec["b"]) if v not in run]
            if outcome.spec.get("if_run"):
                notes.append(f"Skipped ({' and '.join(absent)} not run): {outcome.spec['part']}.")
                continue
            missing += absent
        kept.append(outcome)
    # Skipped tests do not count in the family: evaluate the rest again as one.
    if len(kept) != len(outcomes):
        kept = contrasts.evaluate_family([o.spec for o in kept], measures, workload, settings)

    def verdict(value, reasons):
        return ClaimVerdict(claim, regime, value, tuple(reasons), tuple(kept), tuple(notes))

    if not kept:
        return verdict(NOT_TESTABLE, ["no test could be formed (" + (notes[0] if notes else "nothing run") + ")"])
    if missing:
        needed = sorted(set(missing))
        listed = f"{', '.join(needed[:-1])} and {needed[-1]}" if len(needed) > 1 else needed[0]
        return verdict(NOT_TESTABLE, [f"needs runs of {listed}"])
    if any(o.status == contrasts.NO_TARGET for o in kept):
        return verdict(
            NOT_TESTABLE, ["needs a validation-accuracy target declared before the runs; study.json has none"]
        )
    reasons = []
    if regime.rates not in claim["rates"]:
        reasons.append(
            f"learning rates are {regime.rates} here, and this claim can only be decided with "
            f"{' or '.join(claim['rates'])} rates: at rates nobody chose for each optimizer the comparison "
            "favours whichever default suits this setup"
        )
    generalisation = [o for o in kept if o.spec.get("generalisation")]
    if generalisation and regime.epochs < regime.min_epochs_generalisation:
        fits = _train_errors(measures, workload, generalisation)
        reasons.append(
            f"{regime.epochs} epochs, fewer than the {regime.min_epochs_generalisation} declared for a claim about "
            f"generalisation ({fits}): until the training set is (nearly) fitted, test error measures how far "
            "optimisation got rather than how well a fit generalises"
        )
    if reasons:
        rest = [o.spec for o in kept if not o.spec.get("generalisation")]
        if regime.rates in claim["rates"] and rest and len(rest) < len(kept):
            decidable = contrasts.evaluate_family(rest, measures, workload, settings)
            # A claim is a conjunction: one part contradicted here makes it false, whatever the rest would say,
            # once every decidable part has the seeds a decision needs (as rule 3 asks of any verdict).
            short = any(o.status in contrasts.SHORT_OF_SEEDS for o in decidable)
            contradicted = not short and any(o.status == CONTRADICTED for o in decidable)
            value = CONTRADICTED if contradicted else WRONG_REGIME
            return dataclasses.replace(verdict(value, reasons), decidable=tuple(decidable))
        return verdict(WRONG_REGIME, reasons)
    short = [o for o in kept if o.status in contrasts.SHORT_OF_SEEDS]
    if short:
        texts = []
        for o in short:
            n = o.paired.n if o.paired is not None else 0
            if o.status == contrasts.BOTH_CENSORED:
                texts.append(f"{o.spec['part']}: neither run reached the target with seed(s) "
                             f"{', '.join(str(s) for s in o.paired.both_censored_seeds)}")  # fmt: skip
            else:
                texts.append(f"{o.spec['part']}: {n} paired seed(s), fewer than {settings['min_seeds']}")
        return verdict(TOO_FEW_SEEDS, ["; ".join(texts)])
    statuses = [o.status for o in kept]
    if CONTRADICTED in statuses:
        return verdict(CONTRADICTED, [])
    if all(s == HOLDS for s in statuses):
        return verdict(HOLDS, [])
    return verdict(INCONCLUSIVE, [])


def _train_errors(measures, workload, outcomes):
    rows = measures[measures["workload"] == workload]
    variants = list(dict.fromkeys(v for o in outcomes for v in (o.spec["a"], o.spec["b"])))
    parts = []
    for v in variants:
        values = rows.loc[rows["variant"] == v, "train_error"].dropna()
        if len(values):
            parts.append(f"{v} {values.mean() * 100:.1f}%")
    return "final train error " + (", ".join(parts) if parts else "unknown")


def decide_claims(study, measures, declaration, workload):
    """Verdicts of every declared claim that applies to `workload` (its ``presets``), in declared order."""
    settings = declaration["settings"]
    regime = workload_regime(study, workload, settings)
    out = []
    for claim in declaration["claims"]:
        if claim.get("presets") and regime.preset not in claim["presets"]:
            continue
        out.append(decide_claim(claim, measures, workload, regime, settings))
    return out
