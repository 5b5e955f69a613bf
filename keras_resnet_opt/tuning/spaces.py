"""The search spaces of the tuner, one per optimizer, all defined here.

Every space is centred on the optimizer's registry default
(``keras_resnet_opt.optimizers.registry``), so no number is repeated here; a
plug-in optimizer ("package.module:Class") is centred on its class's own
default learning rate, or on the ``lr_center`` / inside the ``lr_range`` the
user gives:

- learning rate: log-uniform over ``[default / LR_SPAN, default * LR_SPAN]``,
  or over ``lr_range`` when given (the grid tuner takes
  ``GRID_POINTS_PER_DECADE`` points a decade over the same range, the
  default among them);
- Padam's p (``partial``): a choice over ``PARTIAL_GRID``, or one fixed
  value (``partial=``), as when each p gets its own learning-rate search;
- the edge-extending grid (tuner "edge-grid", `EdgeGridOracle`): learning
  rates ``centre * 10**(k / 2)`` (half a decade apart, about x3), starting
  from the ``lr_points`` values around the centre (the registry default unless
  ``lr_center`` is given) and stepping outward, up to ``EDGE_GRID_REACH``
  points each side, while the best rate sits on an edge of those tried;
- weight decay, only with ``tune_weight_decay=True``: log-uniform over
  ``[default / WEIGHT_DECAY_SPAN, default * WEIGHT_DECAY_SPAN]`` (the grid
  tuner: the default and the two ends).

A `SearchSpace` is a plain description (``to_dict`` gives the JSON that the
search's fingerprint stores) and declares itself on a Keras Tuner
``HyperParameters`` object with `SearchSpace.declare`.
"""

import dataclasses
import math

from keras_resnet_opt.optimizer_names import check_optimizer_name, check_partial, is_plugin
from keras_resnet_opt.optimizers.registry import default_learning_rate, optimizer_class, optimizer_defaults

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
# The edge-extending grid may step this many half-decades out from its centre
# on either side (two decades): enough for Padam's best rate, which moves by
# orders of magnitude with p, and a guard against a search that never ends.
EDGE_GRID_REACH = 4

LEARNING_RATE = "learning_rate"
PARTIAL = "partial"
WEIGHT_DECAY = "weight_decay"
TUNED_FIELDS = (LEARNING_RATE, PARTIAL, WEIGHT_DECAY)  # the RunConfig fields a search sets


@dataclasses.dataclass(frozen=True)
class SearchSpace:
    """The hyperparameters searched for one optimizer.

    Args:
        optimizer: registry name or plug-in "package.module:Class".
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
    # The edge-extending grid: every rate it may try (ascending) and the ones it
    # starts from; None for the other tuners.
    lr_grid: tuple | None = None
    lr_initial: tuple | None = None

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
        if self.lr_grid is not None:
            lr = hp.Choice(LEARNING_RATE, list(self.lr_grid), default=default)
        elif grid:
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
        if self.lr_grid is not None:
            d[LEARNING_RATE]["grid"] = list(self.lr_grid)
            d[LEARNING_RATE]["initial"] = list(self.lr_initial)
        elif grid:
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


def edge_grid_learning_rates(center, points):
    """``(all rates the edge-extending grid may try, the ones it starts from)``.

    Both ascending, ``center * 10**(k / 2)`` rounded to 6 significant digits;
    the start is the ``points`` values around ``center`` (an odd number, so
    the centre is in the middle).
    """
    if points < 1 or points % 2 == 0:
        raise ValueError(f"`lr_points` must be an odd number >= 1. Received: lr_points={points}")
    half = points // 2
    reach = max(EDGE_GRID_REACH, half)

    def rate(k):
        return float(f"{center * 10 ** (k / GRID_POINTS_PER_DECADE):.6g}")

    return tuple(rate(k) for k in range(-reach, reach + 1)), tuple(rate(k) for k in range(-half, half + 1))


def search_space(optimizer, tune_weight_decay=False, partial=None, lr_center=None, lr_points=None, lr_range=None):
    """The search space of a registry or plug-in optimizer.

    Args:
        optimizer: one of ``OPTIMIZER_NAMES``, or a plug-in
            "package.module:Class".
        tune_weight_decay: also search the weight decay (log-uniform around
            the registry default). Defaults to False: the decay stays at the
            value a training run would use.
        partial: fix Padam's p at this value instead of searching
            ``PARTIAL_GRID`` (padam only). Defaults to None.
        lr_center: the learning rate the space is centred on; None = the
            registry default (a plug-in's: its class's default), or the
            geometric middle of ``lr_range``.
        lr_points: build the edge-extending grid, starting from this many
            rates around the centre (odd); None for the other tuners.
        lr_range: ``(low, high)``: search the learning rate over this range
            instead of ``LR_SPAN`` around the centre (not with the
            edge-extending grid, which steps out from its centre by itself).

    Raises:
        ValueError: an unknown optimizer (the message lists the valid ones),
            weight-decay tuning for an optimizer without a default decay, a
            p for an optimizer without one or outside [0, 0.5], a plug-in
            with no learning rate to centre on, a bad range, or an even or
            non-positive ``lr_points``.
    """
    optimizer_class(check_optimizer_name(optimizer))  # a plug-in must import
    defaults = {} if is_plugin(optimizer) else optimizer_defaults(optimizer)
    low = high = None
    if lr_range is not None:
        low, high = (float(v) for v in lr_range)
        if not (math.isfinite(low) and math.isfinite(high) and 0 < low < high):
            raise ValueError(
                f"The learning-rate range must be two finite numbers 0 < low < high. Received: lr_range={lr_range}"
            )
        if lr_points is not None:
            raise ValueError(
                "The edge-extending grid steps outward from its centre by itself: give it --lr-center (and "
                "--lr-points), not a range."
            )
    if lr_center is not None:
        lr = float(lr_center)
        if not (math.isfinite(lr) and lr > 0):
            raise ValueError(f"`lr_center` must be a finite number > 0. Received: lr_center={lr_center}")
        if low is not None and not low <= lr <= high:
            raise ValueError(f"`lr_center` {lr} lies outside the learning-rate range [{low}, {high}].")
    elif low is not None:
        lr = float(f"{math.sqrt(low * high):.6g}")
    else:
        lr = default_learning_rate(optimizer)
        if lr is None:
            raise ValueError(
                f"Optimizer {optimizer!r} has no default learning rate to centre the search on: give "
                "--lr-center, or --lr-min and --lr-max."
            )
        lr = float(lr)
    fixed_partial = partial
    partial = None
    if fixed_partial is not None:
        if PARTIAL not in defaults:
            raise ValueError(
                f"Only padam has a partial parameter p. Received: optimizer={optimizer!r}, partial={fixed_partial}"
            )
        check_partial(fixed_partial)
        partial = ((float(fixed_partial),), float(fixed_partial))
    elif PARTIAL in defaults:
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
    lr_grid = lr_initial = None
    if lr_points is not None:
        if weight_decay is not None or (partial is not None and len(partial[0]) > 1):
            raise ValueError(
                "The edge-extending grid searches the learning rate alone: fix Padam's p (--partial) "
                "and do not tune the weight decay with it."
            )
        lr_grid, lr_initial = edge_grid_learning_rates(lr, lr_points)
        lr = lr_initial[len(lr_initial) // 2]
        return SearchSpace(optimizer, (lr_grid[0], lr_grid[-1], lr), partial, weight_decay, lr_grid, lr_initial)
    if low is None:
        low, high = lr / LR_SPAN, lr * LR_SPAN
    return SearchSpace(optimizer, (low, high, lr), partial, weight_decay)
