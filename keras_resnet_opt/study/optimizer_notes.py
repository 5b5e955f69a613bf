"""What a report owes its reader about optimizers whose name alone would mislead.

Two rows of a comparison are not what a reader may assume from their names:

- ``nadam`` is Keras 3's Nadam, whose momentum schedule
  ``mu_t = b1 (1 - 0.5 * 0.96^t)`` reaches ``b1`` within a hundred steps, not
  Dozat's as PyTorch's ``NAdam`` has it, ``b1 (1 - 0.5 * 0.96^(0.004 t))``,
  which on a short budget never gets near ``b1``. How far apart the two are
  depends on the budget, so the note computes it from the runs' own step count.
- ``adamw`` decays its weights decoupled (``theta <- theta - lr * wd * theta``),
  while the other optimizers of the cpu-budget presets decay through the
  gradient, so its "weight decay" column is a different quantity; the note
  puts its per-step shrink beside sgdm's, both from the runs' manifests.

docs/optimizers.md ("Nadam: which momentum schedule the studies run",
"AdamW's decay in the cpu-budget study") says why the project chose them; the
notes only state what was run, from what the runs recorded, so they can never
disagree with the runs.
"""

import math

from keras_resnet_opt.training.run_folder import manifest_steps_per_epoch

# Keras 3 Nadam's momentum-decay base, and Dozat's (PyTorch NAdam's) exponent scale on the step.
KERAS_NADAM_BASE = 0.96
DOZAT_MOMENTUM_DECAY = 0.004
DOCS = "docs/optimizers.md"


def _budget_steps(run):
    """Training steps over the run's whole budget, from its manifest's image count and its config."""
    manifest = run.manifest or {}
    if not (manifest.get("data") or {}).get("train_images") or not (manifest.get("config") or {}).get("batch_size"):
        return None
    return run.epochs * manifest_steps_per_epoch(manifest)


def _first_ended(study, optimizer):
    """Per workload, the first ended run of ``optimizer`` (the notes read settings every seed shares)."""
    found = {}
    for run in study.ended_runs:
        if run.optimizer == optimizer and run.workload not in found:
            found[run.workload] = run
    return found


def _nadam_note(run, several):
    config = run.manifest.get("optimizer_config") or {}
    beta_1 = config.get("beta_1", 0.9)
    steps = _budget_steps(run)
    where = f" ({run.workload})" if several else ""
    text = (
        f"- nadam{where} is Keras 3's Nadam: its momentum at step t is b1 (1 - 0.5 x {KERAS_NADAM_BASE}^t), "
        f"b1 = {beta_1:g}, within 5% of b1 from step {math.ceil(math.log(0.1) / math.log(KERAS_NADAM_BASE))} on, "
        "so after its first epoch it is Adam with Nesterov "
        f"momentum. Dozat's schedule, as PyTorch's NAdam implements it, b1 (1 - 0.5 x "
        f"{KERAS_NADAM_BASE}^({DOZAT_MOMENTUM_DECAY:g} t))"
    )
    if steps:
        end = beta_1 * (1 - 0.5 * KERAS_NADAM_BASE ** (DOZAT_MOMENTUM_DECAY * steps))
        text += f", would still be at {end:.3f} at the end of this budget ({steps:,} steps)"
    return text + f": a different optimizer on a short budget ({DOCS}, \"Nadam\")."


def _adamw_note(run, sgdm, several):
    config = run.manifest.get("optimizer_config") or {}
    decay = config.get("weight_decay")
    rate = run.manifest.get("initial_learning_rate", run.config.get("learning_rate"))
    where = f" ({run.workload})" if several else ""
    if decay is None or rate is None:
        return f"- adamw{where}: its manifest records no decoupled weight decay ({DOCS}, \"AdamW's decay\")."
    coupled = config.get("coupled_weight_decay")
    text = (
        f"- adamw{where} decays its weights decoupled, theta <- theta - lr x wd x theta with wd = {decay:g}"
        f"{'' if not coupled else f' (and a coupled {coupled:g})'}: at its learning rate {rate:g} a shrink of "
        f"{rate * decay:.3g} per step until the schedule's first decay"
    )
    sgdm_manifest = sgdm.manifest if sgdm is not None else {}
    sgdm_config = sgdm_manifest.get("optimizer_config") or {}
    sgdm_rate = sgdm_manifest.get("initial_learning_rate")
    sgdm_decay, momentum = sgdm_config.get("coupled_weight_decay"), sgdm_config.get("momentum")
    if sgdm_rate and sgdm_decay and momentum is not None and momentum < 1:
        shrink = sgdm_rate * sgdm_decay / (1 - momentum)
        text += (
            f", against sgdm's coupled {sgdm_decay:g}, a steady shrink of lr x wd / (1 - momentum) = "
            f"{shrink:.3g} per step at its rate {sgdm_rate:g}"
        )
    return text + f". Its weight-decay column is this decoupled wd, not an L2 coefficient ({DOCS}, \"AdamW's decay\")."


def optimizer_notes(study):
    """Markdown lines (empty when no nadam or adamw run has ended) for the report's Setup section."""
    nadam, adamw, sgdm = (_first_ended(study, o) for o in ("nadam", "adamw", "sgdm"))
    several = len({r.workload for r in study.ended_runs}) > 1
    notes = [_nadam_note(run, several) for run in nadam.values()]
    notes += [_adamw_note(run, sgdm.get(workload), several) for workload, run in adamw.items()]
    if not notes:
        return []
    return ["Optimizers whose names alone can mislead, as run:", "", *notes, ""]
