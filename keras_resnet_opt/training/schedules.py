"""Learning-rate schedules from a RunConfig, counted in optimizer steps.

The schedule is part of the optimizer, so its position is
``optimizer.iterations``, which a ``.keras`` checkpoint stores: a resumed run
continues the schedule exactly where it stopped.
"""

import keras


def make_schedule(kind, base_lr, steps_per_epoch, epochs, boundaries=(), decay_factor=0.1):
    """Return a float (constant) or a ``keras.optimizers.schedules.LearningRateSchedule``.

    Args:
        kind: "step" (multiply by ``decay_factor`` at each boundary), "cosine"
            (to zero over the run) or "constant".
        base_lr: initial learning rate (Python float).
        steps_per_epoch: optimizer steps per epoch.
        epochs: run length in epochs.
        boundaries: epochs (fractions allowed) at which "step" decays.
        decay_factor: the step multiplier. Defaults to 0.1.
    """
    base_lr = float(base_lr)
    if kind == "constant" or (kind == "step" and not boundaries):
        return base_lr
    if kind == "step":
        # PiecewiseConstantDecay keeps the old value while iterations <= boundary,
        # and the k-th update sees iterations = k - 1; "decay at epoch b" (PyTorch's
        # MultiStepLR, He et al.'s "at 32k iterations") means the update with
        # iterations == b * steps_per_epoch already uses the new value, hence - 1.
        steps = [int(round(b * steps_per_epoch)) - 1 for b in boundaries]
        values = [base_lr * decay_factor**i for i in range(len(steps) + 1)]
        return keras.optimizers.schedules.PiecewiseConstantDecay(steps, values)
    if kind == "cosine":
        return keras.optimizers.schedules.CosineDecay(base_lr, decay_steps=steps_per_epoch * epochs)
    raise ValueError(f"Unknown lr schedule {kind!r}. Valid schedules: step, cosine, constant")
