"""The optimizers' names, Padam's p and the checks on them, without importing Keras.

Configs, help texts and the study read these before (or without) any Keras
import: the study reads results with pandas alone, and a command's ``--help``
should not wait for TensorFlow. `keras_resnet_opt.optimizers.registry` holds
each optimizer's class and defaults, in the order and under the names given
here; nothing else repeats them.
"""

import numbers

# Every optimizer the registry offers, in the order tables and legends show
# them: plain SGD first, the adaptive methods next, Padam (which interpolates
# between SGD-momentum and AMSGrad) last.
OPTIMIZER_NAMES = ("sgd", "sgdm", "adam", "nadam", "amsgrad", "adamw", "padam")

# p = 1/8 is what the Padam paper, its README and reference scripts use (the
# reference class itself defaults to 1/4); it is the p of the main comparison.
PADAM_DEFAULT_PARTIAL = 0.125
# Padam's p runs from 0 (SGD with momentum) to 1/2 (AMSGrad).
PARTIAL_RANGE = (0.0, 0.5)
# The optimizers Padam becomes at the two ends of that range: where a p analysis puts them.
PARTIAL_ENDS = {"sgdm": PARTIAL_RANGE[0], "amsgrad": PARTIAL_RANGE[1]}

# The optimizers that have a "partial" exponent p, with their default p.
DEFAULT_PARTIAL = {"padam": PADAM_DEFAULT_PARTIAL}


def check_partial(partial):
    """Return ``partial`` if it is a number in `PARTIAL_RANGE`, else raise ValueError."""
    low, high = PARTIAL_RANGE
    if not (isinstance(partial, numbers.Real) and not isinstance(partial, bool) and low <= partial <= high):
        raise ValueError(f"`partial` must be in [{low:g}, {high:g}]. Received: partial={partial}")
    return partial


def is_plugin(name):
    """True for a plug-in name: "package.module:Class", or "package>Class" as
    registered with ``keras.saving.register_keras_serializable``. Whether it
    imports is the registry's check (`registry.optimizer_class`)."""
    return isinstance(name, str) and name not in OPTIMIZER_NAMES and (":" in name or ">" in name)


def check_optimizer_name(name):
    """Return ``name`` if it is a registry name or has a plug-in's form, else raise
    ValueError listing the valid names."""
    if name in OPTIMIZER_NAMES or is_plugin(name):
        return name
    raise ValueError(
        f"Unknown optimizer {name!r}. Valid optimizers: {', '.join(OPTIMIZER_NAMES)}, or a plug-in "
        "package.module:Class"
    )
