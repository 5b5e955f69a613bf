"""The search spaces of the tuner, one per optimizer, all defined here.

Every space is centred on the optimizer's registry default
(``keras_resnet_opt.optimizers.registry``), so no number is repeated here:

- learning rate: log-uniform over ``[default / LR_SPAN, default * LR_SPAN]``
  (the grid tuner takes ``GRID_POINTS_PER_DECADE`` points a decade over the
  same range, the default among them);
- Padam's p (``partial``): a choice over ``PARTIAL_GRID``;
- weight decay, only with ``tune_weight_decay=True``: log-uniform over
  ``[default / WEIGHT_DECAY_SPAN, default * WEIGHT_DECAY_SPAN]`` (the grid
  tuner: the default and the two ends).

A `SearchSpace` is a plain description (``to_dict`` gives the JSON that the
search's fingerprint stores) and declares itself on a Keras Tuner
``HyperParameters`` object with `SearchSpace.declare`.
"""

import dataclasses
import math

from keras_resnet_opt.optimizers.registry import list_optimizers, optimizer_defaults

# Two decades around the default: wide enough to hold the published best values
# of every optimizer compared (e.g. Adam's 1e-3 vs Padam's 1e-1 are each one
# registry default), narrow enough for a 5-trial random search to sample it.
LR_SPAN = 10.0
# The grid tuner: lr at default * 10**(k / 2), k = -2..2 (5 points).
GRID_POINTS_PER_DECADE = 2
# Padam's p: the grid the authors searched, {1/4, 1/8, 1/16}, plus 1/2,
# the AMSGrad end of the interpolation.
PARTIAL_GRID = (1 / 16, 1 / 8, 1 / 4, 1 / 2)
WEIGHT_DECAY_SPAN = 10.0

LEARNING_RATE = "learning_rate"
PARTIAL = "partial"
WEIGHT_DECAY = "weight_decay"
TUNED_FIELDS = (LEARNING_RATE, PARTIAL, WEIGHT_DECAY)  # the RunConfig fields a search sets


@dataclasses.dataclass(frozen=True)
class SearchSpace:
    """The hyperparameters searched for one optimizer.

    Args:
        optimizer: registry name.
        learning_rate: ``(low, high, default)``, searched log-uniformly.
        partial: Padam's p values ``(values, default)``, or None when the
            optimizer has no p.
        weight_decay: ``(low, high, default)`` searched log-uniformly, or None
            to keep the registry's (or preset's) decay fixed.
    """

    optimizer: str
    learning_rate: tuple
    partial: tuple | None = None
    weight_decay: tuple | None = None

    def declare(self, hp, grid=False):
        """Register the space on ``hp`` and return this trial's values.

        Args:
            hp: a ``keras_tuner.HyperParameters``.
            grid: declare finite choices (for the grid tuner) instead of
                continuous log-uniform ranges. Defaults to False.

        Returns:
            ``{"learning_rate": float, "partial": float | None,
            "weight_decay": float | None}``: RunConfig fields, None = not tuned.
        """
        low, high, default = self.learning_rate
        if grid:
            lr = hp.Choice(LEARNING_RATE, list(grid_learning_rates(low, high, default)), default=default)
        else:
            lr = hp.Float(LEARNING_RATE, low, high, sampling="log", default=default)
        values = {LEARNING_RATE: float(lr), PARTIAL: None, WEIGHT_DECAY: None}
        if self.partial is not None:
            choices, default_p = self.partial
            values[PARTIAL] = float(hp.Choice(PARTIAL, list(choices), default=default_p))
        if self.weight_decay is not None:
            low, high, default = self.weight_decay
            if grid:
                wd = hp.Choice(WEIGHT_DECAY, sorted({low, default, high}), default=default)
            else:
                wd = hp.Float(WEIGHT_DECAY, low, high, sampling="log", default=default)
            values[WEIGHT_DECAY] = float(wd)
        return values

    def to_dict(self, grid=False):
        """JSON-ready description (with the grid's points when ``grid``)."""
        d = {
            "optimizer": self.optimizer,
            LEARNING_RATE: {"low": self.learning_rate[0], "high": self.learning_rate[1],
                            "default": self.learning_rate[2], "sampling": "log"},
            PARTIAL: None if self.partial is None else {"values": list(self.partial[0]), "default": self.partial[1]},
            WEIGHT_DECAY: None,
        }
        if self.weight_decay is not None:
            d[WEIGHT_DECAY] = {"low": self.weight_decay[0], "high": self.weight_decay[1],
                               "default": self.weight_decay[2], "sampling": "log"}
        if grid:
            d[LEARNING_RATE]["grid"] = list(grid_learning_rates(*self.learning_rate))
        return d

    def tuned_names(self):
        """Names of the hyperparameters this space searches."""
        names = [LEARNING_RATE]
        if self.partial is not None:
            names.append(PARTIAL)
        if self.weight_decay is not None:
            names.append(WEIGHT_DECAY)
        return names


def grid_learning_rates(low, high, default):
    """``default * 10**(k / GRID_POINTS_PER_DECADE)`` within ``[low, high]``, ascending.

    Values are rounded to 6 significant digits so that the default itself is
    exactly one of them (Keras Tuner's grid starts from the default).
    """
    k_low = math.ceil(round(math.log10(low / default) * GRID_POINTS_PER_DECADE, 9))
    k_high = math.floor(round(math.log10(high / default) * GRID_POINTS_PER_DECADE, 9))
    return tuple(float(f"{default * 10 ** (k / GRID_POINTS_PER_DECADE):.6g}") for k in range(k_low, k_high + 1))


def search_space(optimizer, tune_weight_decay=False):
    """The search space of a registry optimizer.

    Args:
        optimizer: one of ``list_optimizers()``.
        tune_weight_decay: also search the weight decay (log-uniform around
            the registry default). Defaults to False: the decay stays at the
            value a training run would use.

    Raises:
        ValueError: an unknown optimizer (the message lists the valid ones),
            or weight-decay tuning for an optimizer whose default decay is 0.
    """
    if optimizer not in list_optimizers():
        raise ValueError(
            f"No search space for optimizer {optimizer!r}: spaces are defined around registry defaults. "
            f"Valid optimizers: {', '.join(list_optimizers())}"
        )
    defaults = optimizer_defaults(optimizer)
    lr = float(defaults[LEARNING_RATE])
    partial = None
    if PARTIAL in defaults:
        partial = (PARTIAL_GRID, float(defaults[PARTIAL]))
    weight_decay = None
    if tune_weight_decay:
        wd = defaults.get(WEIGHT_DECAY)
        if not wd:
            raise ValueError(
                f"Cannot tune the weight decay of {optimizer!r} on a log scale around its default: "
                f"the default is {wd!r}."
            )
        weight_decay = (wd / WEIGHT_DECAY_SPAN, wd * WEIGHT_DECAY_SPAN, float(wd))
    return SearchSpace(optimizer, (lr / LR_SPAN, lr * LR_SPAN, lr), partial, weight_decay)
