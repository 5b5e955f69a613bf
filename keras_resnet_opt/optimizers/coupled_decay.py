"""Coupled L2 weight decay for any Keras optimizer, by one mixin.

The papers this project reproduces (He et al. 2016, Chen & Gu's Padam, the ICLR
2019 reproducibility report) all use *coupled* L2 weight decay, as PyTorch's
`weight_decay=` argument does: before the optimizer's own rule runs, the
gradient becomes

    g <- g + coupled_weight_decay * theta

so the decay term passes through momentum and, for adaptive methods, through
the adaptive denominator. Keras' own `weight_decay=` argument is *decoupled*
(AdamW-style: `theta <- theta - lr * weight_decay * theta`, outside the rule).
Both are kept: this module adds the coupled kind, Keras keeps the decoupled one.

One mechanism serves every optimizer: `CoupledWeightDecay` is a mixin that
overrides `update_step(gradient, variable, learning_rate)`. Keras calls
`update_step` per variable after loss-scale unscaling, gradient accumulation,
clipping and the cross-replica all-reduce, so the decay term is added exactly
once per real update, is never clipped (as in PyTorch, where clipping happens
before `optimizer.step()` adds the decay), and is not multiplied by the number
of replicas.

Which variables decay is chosen once, at `build()` time, by `decay_variables`:

- `"all"` (default): every trainable variable, BatchNorm gamma/beta and biases
  included, as the reference Padam code and PyTorch's `weight_decay` do.
- `"kernels"`: only variables whose path (or name) ends in `kernel`
  (convolution and dense kernels).

The same selection also restricts Keras' decoupled `weight_decay`, so the two
kinds of decay always touch the same variables.
`exclude_from_weight_decay()` still works and applies to both kinds.

`with_coupled_decay(cls)` makes (and registers for `.keras` serialization) the
coupled version of any `keras.optimizers.Optimizer` subclass. The built-in ones
this project compares are made here at import: `CoupledSGD`, `CoupledAdam`,
`CoupledNadam`, `CoupledAdamW`. `Padam` (in `padam.py`) is built on the same
mixin.
"""

import numbers

import keras
from keras import ops

DECAY_VARIABLES = ("all", "kernels")

# Registered names of coupled versions of Keras built-ins and of this package's
# optimizers are "keras_resnet_opt>Coupled<Name>". A user's class gets its
# module in the package part, so two user classes with the same name cannot
# overwrite each other's registration.
REGISTRATION_PACKAGE = "keras_resnet_opt"


def is_kernel(variable):
    """Whether `variable` is a kernel: its path (or name) ends in "kernel".

    Keras variables have a `path` such as "dense/kernel"; a raw `tf.Variable`
    has only a name such as "kernel:0".
    """
    path = getattr(variable, "path", None) or variable.name
    return path.split(":")[0].endswith("kernel")


def selects_for_decay(variable, decay_variables):
    """Whether `decay_variables` ("all" or "kernels") selects `variable`."""
    if decay_variables == "all":
        return True
    if decay_variables == "kernels":
        return is_kernel(variable)
    raise ValueError(
        f"`decay_variables` must be one of {DECAY_VARIABLES}. "
        f"Received: decay_variables={decay_variables!r}"
    )


def _validate(coupled_weight_decay, decay_variables):
    if coupled_weight_decay is not None:
        if isinstance(coupled_weight_decay, bool) or not isinstance(
            coupled_weight_decay, numbers.Real
        ):
            raise ValueError(
                "`coupled_weight_decay` must be a float >= 0 or None. "
                f"Received: coupled_weight_decay={coupled_weight_decay!r}"
            )
        if not coupled_weight_decay >= 0:  # also rejects NaN
            raise ValueError(
                "`coupled_weight_decay` must be >= 0. "
                f"Received: coupled_weight_decay={coupled_weight_decay}"
            )
    if decay_variables not in DECAY_VARIABLES:
        raise ValueError(
            f"`decay_variables` must be one of {DECAY_VARIABLES}. "
            f"Received: decay_variables={decay_variables!r}"
        )


class CoupledWeightDecay:
    """Mixin adding coupled L2 weight decay to a Keras optimizer.

    Put it first in the bases, before the optimizer whose rule it feeds:
    `class CoupledSGD(CoupledWeightDecay, keras.optimizers.SGD)`, or let
    `with_coupled_decay(keras.optimizers.SGD)` do it. For each variable
    selected by `decay_variables`, the optimizer's own `update_step` receives
    `gradient + coupled_weight_decay * variable` instead of `gradient`.

    Args:
        coupled_weight_decay: Float >= 0 or `None`. The L2 coefficient added
            to the gradient (`g + coupled_weight_decay * theta`), as PyTorch's
            `weight_decay` and the papers' "weight decay". `None` or `0`
            disables it. Defaults to `None`.
        decay_variables: `"all"` or `"kernels"`. Which trainable variables
            decay, for this coupled decay and for Keras' decoupled
            `weight_decay` alike: every one (BatchNorm gamma/beta and biases
            included), or only those whose path ends in "kernel". Defaults to
            `"all"`.
        *args, **kwargs: Passed to the optimizer class mixed with.
    """

    def __init__(
        self, *args, coupled_weight_decay=None, decay_variables="all", **kwargs
    ):
        _validate(coupled_weight_decay, decay_variables)
        super().__init__(*args, **kwargs)
        if coupled_weight_decay is not None:
            coupled_weight_decay = float(coupled_weight_decay)
        self.coupled_weight_decay = coupled_weight_decay
        self.decay_variables = decay_variables

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        # Indices into the optimizer's variable list, as `_get_variable_index`
        # returns them. A frozenset is not wrapped by Keras' or TF's trackers.
        self._decayed_indices = frozenset(
            index
            for index, variable in enumerate(var_list)
            if selects_for_decay(variable, self.decay_variables)
        )

    def _use_weight_decay(self, variable):
        # One selection rule for both kinds of decay: Keras calls this for its
        # decoupled `weight_decay`, and `_add_coupled_decay` calls it too.
        index = self._get_variable_index(variable)
        if index not in self._decayed_indices:
            return False
        return super()._use_weight_decay(variable)

    def _add_coupled_decay(self, gradient, variable):
        if not self.coupled_weight_decay:
            return gradient
        if not self._use_weight_decay(variable):
            return gradient
        gradient = ops.cast(gradient, variable.dtype)
        decay = ops.cast(self.coupled_weight_decay, variable.dtype)
        return ops.add(gradient, ops.multiply(decay, variable))

    def update_step(self, gradient, variable, learning_rate):
        return super().update_step(
            self._add_coupled_decay(gradient, variable),
            variable,
            learning_rate,
        )

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "coupled_weight_decay": self.coupled_weight_decay,
                "decay_variables": self.decay_variables,
            }
        )
        return config


_COUPLED_CLASSES = {}


def with_coupled_decay(optimizer_class):
    """Returns the coupled-decay version of a Keras optimizer class.

    The returned class is `CoupledWeightDecay` mixed in front of
    `optimizer_class`, named `Coupled<Name>`, accepting every argument of
    `optimizer_class` plus `coupled_weight_decay` and `decay_variables`. It is
    registered with `keras.saving.register_keras_serializable`, so `.keras`
    files and `LossScaleOptimizer` can rebuild it; to load a file saved with
    the coupled version of *your own* class in a fresh process, call
    `with_coupled_decay(YourClass)` (or `make_optimizer`) before loading.

    Calling it twice with the same class returns the same class. A class that
    already has the mixin (such as `Padam`) is returned unchanged.

    Args:
        optimizer_class: A subclass of `keras.optimizers.Optimizer`.

    Returns:
        The coupled class.
    """
    if not (
        isinstance(optimizer_class, type)
        and issubclass(optimizer_class, keras.optimizers.Optimizer)
    ):
        raise TypeError(
            "`optimizer_class` must be a subclass of "
            "`keras.optimizers.Optimizer`. "
            f"Received: optimizer_class={optimizer_class!r}"
        )
    if issubclass(optimizer_class, CoupledWeightDecay):
        return optimizer_class
    if optimizer_class in _COUPLED_CLASSES:
        return _COUPLED_CLASSES[optimizer_class]

    name = f"Coupled{optimizer_class.__name__}"
    base_module = optimizer_class.__module__
    if base_module.split(".")[0] in ("keras", REGISTRATION_PACKAGE):
        package = REGISTRATION_PACKAGE
    else:
        package = f"{REGISTRATION_PACKAGE}.coupled.{base_module}"
    coupled_class = type(
        name,
        (CoupledWeightDecay, optimizer_class),
        {
            "__module__": __name__,
            "__qualname__": name,
            "__doc__": (
                f"`{optimizer_class.__name__}` with coupled L2 weight decay.\n\n"
                "Every argument of "
                f"`{base_module}.{optimizer_class.__qualname__}`, plus\n"
                "`coupled_weight_decay` (default `None`) and `decay_variables`"
                ' (default `"all"`):\nsee `CoupledWeightDecay`.\n'
            ),
        },
    )
    keras.saving.register_keras_serializable(package=package, name=name)(
        coupled_class
    )
    _COUPLED_CLASSES[optimizer_class] = coupled_class
    return coupled_class


CoupledSGD = with_coupled_decay(keras.optimizers.SGD)
CoupledAdam = with_coupled_decay(keras.optimizers.Adam)
CoupledNadam = with_coupled_decay(keras.optimizers.Nadam)
CoupledAdamW = with_coupled_decay(keras.optimizers.AdamW)
