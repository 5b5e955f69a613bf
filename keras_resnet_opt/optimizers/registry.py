"""The optimizers compared, their default hyperparameters, and `make_optimizer`.

`OPTIMIZERS` below is the one place where each optimizer's defaults live, with
their source beside them; `docs/optimizers.md` shows the table rendered by
`defaults_table_markdown()` (a test checks the two agree).

Override keys are the constructor arguments of the optimizer's class (Keras
base arguments such as `clipnorm` included), except that `weight_decay` always
means *the optimizer's defining decay*: coupled L2 (`g + wd * theta`, the
papers' and PyTorch's kind) for every name but `adamw`, whose defining decay is
Keras' decoupled `weight_decay`. `decay_variables` ("all" or "kernels") picks
the variables either kind of decay touches.

Plug-ins: `make_optimizer("my_pkg.my_module:MyOptimizer", **overrides)` imports
the class, and a name registered with `keras.saving.register_keras_serializable`
("package>Name") works too. For a plug-in, `weight_decay` is coupled L2 applied
by the same `CoupledWeightDecay` mixin as the built-ins.

Run `python -m keras_resnet_opt.optimizers.registry` to print the table.
"""

import dataclasses
import importlib
import inspect
import math
import numbers
import types

import keras
import numpy as np

from keras_resnet_opt.optimizer_names import OPTIMIZER_NAMES, PADAM_DEFAULT_PARTIAL, is_plugin
from keras_resnet_opt.optimizers.coupled_decay import CoupledAdam, CoupledAdamW, CoupledNadam, with_coupled_decay
from keras_resnet_opt.optimizers.heavy_ball import CoupledHeavyBallSGD
from keras_resnet_opt.optimizers.padam import Padam

COUPLED = "coupled"  # g <- g + wd * theta before the rule (L2, PyTorch-style)
DECOUPLED = "decoupled"  # theta <- theta - lr * wd * theta (Keras `weight_decay`)


@dataclasses.dataclass(frozen=True)
class OptimizerSpec:
    """One row of the table: a class, its defaults, its decay kind, sources."""

    optimizer_class: type
    defaults: types.MappingProxyType
    decay: str  # COUPLED or DECOUPLED: what the `weight_decay` override sets
    source: str


def _spec(optimizer_class, decay, source, **defaults):
    return OptimizerSpec(
        optimizer_class, types.MappingProxyType(defaults), decay, source
    )


# fmt: off
# The one table of defaults. Sources: [R] the ICLR 2019 reproducibility report
# of Padam (base settings of the compared optimizers), [P] the Padam paper and
# its reference scripts, [T] PyTorch's defaults, which the reference scripts
# ran on. Rows marked "choice" are not in those sources; the reason is given.
_SPECS = {
    "sgd": _spec(
        CoupledHeavyBallSGD, COUPLED,
        "choice: the sgdm row without momentum, so the pair isolates momentum",
        learning_rate=0.1, momentum=0.0, weight_decay=5e-4,
    ),
    "sgdm": _spec(
        CoupledHeavyBallSGD, COUPLED,
        "[R], [P]: SGD-momentum lr 0.1, momentum 0.9, wd 5e-4; velocity of raw "
        "gradients [T] (heavy_ball.py: Keras' SGD differs after an lr decay)",
        learning_rate=0.1, momentum=0.9, weight_decay=5e-4,
    ),
    "adam": _spec(
        CoupledAdam, COUPLED,
        "[R]: Adam lr 0.001, beta2 0.99, wd 1e-4; eps [T] 1e-8 "
        "(Keras' default is 1e-7)",
        learning_rate=0.001, beta_1=0.9, beta_2=0.99, epsilon=1e-8,
        amsgrad=False, weight_decay=1e-4,
    ),
    "nadam": _spec(
        CoupledNadam, COUPLED,
        "choice: the adam row's values, so the pair isolates Nesterov momentum",
        learning_rate=0.001, beta_1=0.9, beta_2=0.99, epsilon=1e-8,
        weight_decay=1e-4,
    ),
    "amsgrad": _spec(
        CoupledAdam, COUPLED,
        "[R]: AMSGrad lr 0.001, beta2 0.99, wd 1e-4; eps [T] 1e-8",
        learning_rate=0.001, beta_1=0.9, beta_2=0.99, epsilon=1e-8,
        amsgrad=True, weight_decay=1e-4,
    ),
    "adamw": _spec(
        CoupledAdamW, DECOUPLED,
        "choice: the adam row with decoupled wd 0.05, so that the per-step "
        "shrink lr * wd = 5e-5 equals sgdm's lr * wd (0.1 * 5e-4); Keras' "
        "default 0.004 would give 4e-6",
        learning_rate=0.001, beta_1=0.9, beta_2=0.99, epsilon=1e-8,
        amsgrad=False, weight_decay=0.05,
    ),
    "padam": _spec(
        Padam, COUPLED,
        "[P], [R]: lr 0.1, beta2 0.999, p 1/8, wd 5e-4, amsgrad on; eps [P] 1e-8",
        learning_rate=0.1, beta_1=0.9, beta_2=0.999, epsilon=1e-8,
        partial=PADAM_DEFAULT_PARTIAL, amsgrad=True, weight_decay=5e-4,
    ),
}
# fmt: on
if set(_SPECS) != set(OPTIMIZER_NAMES):
    raise ImportError(f"The registry's table {sorted(_SPECS)} and OPTIMIZER_NAMES {sorted(OPTIMIZER_NAMES)} differ.")
# In the order of OPTIMIZER_NAMES (keras_resnet_opt/optimizer_names.py).
OPTIMIZERS = types.MappingProxyType({name: _SPECS[name] for name in OPTIMIZER_NAMES})

# The coupled-decay mixin's own arguments; `weight_decay` maps onto the first
# for coupled optimizers, so the registry does not accept it by this name.
_COUPLED_ARGUMENTS = ("coupled_weight_decay", "decay_variables")


def list_optimizers():
    """Names of the optimizers in the table, in table order."""
    return list(OPTIMIZERS)


def _spec_for(name):
    try:
        return OPTIMIZERS[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"Unknown optimizer {name!r}. Valid names: "
            f"{', '.join(OPTIMIZERS)}; or a plug-in given as "
            "'package.module:ClassName', or a name registered with "
            "keras.saving.register_keras_serializable ('package>ClassName')."
        ) from None


def optimizer_defaults(name):
    """The default hyperparameters of a table optimizer, as a new dict.

    `weight_decay` is the optimizer's defining decay (``OPTIMIZERS[name].decay``).
    """
    return dict(_spec_for(name).defaults)


def optimizer_class(name):
    """The class ``make_optimizer(name)`` builds (before any coupled-decay wrapper).

    Raises:
        ValueError: an unknown name, or a plug-in that does not import or is
            not a Keras optimizer.
    """
    if is_plugin(name):
        return _import_plugin(name)
    return _spec_for(name).optimizer_class


def _init_parameters(optimizer_class):
    """The ``__init__`` parameters of ``optimizer_class`` and of the bases its
    ``**kwargs`` reach (the coupled classes forward them to their base), nearest first."""
    for klass in optimizer_class.__mro__:
        if "__init__" not in vars(klass):
            continue
        params = inspect.signature(vars(klass)["__init__"]).parameters
        yield params
        if not any(p.kind is p.VAR_KEYWORD for p in params.values()):
            return


def default_learning_rate(name):
    """The learning rate ``make_optimizer(name)`` uses when none is given.

    A table optimizer's comes from the table; a plug-in's is the default of
    its class's ``learning_rate`` argument (Keras' Lion: 0.001). None when
    the class has no numeric default: the caller must ask for one.
    """
    if not is_plugin(name):
        return _spec_for(name).defaults.get("learning_rate")
    for params in _init_parameters(_import_plugin(name)):
        if "learning_rate" in params:
            default = params["learning_rate"].default
            if _is_number(default) and math.isfinite(default) and default > 0:
                return float(default)
            return None
    return None


def _constructor_arguments(optimizer_class):
    """Named arguments ``optimizer_class(...)`` accepts."""
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return {
        n for params in _init_parameters(optimizer_class) for n, p in params.items() if n != "self" and p.kind in kinds
    }


def _is_number(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _python_value(key, value):
    """numpy scalars become Python numbers (they are not JSON-serialisable and
    Keras rejects numpy learning rates); a learning rate is checked."""
    if isinstance(value, np.ndarray) and value.shape == ():
        value = value[()]
    if isinstance(value, np.generic):
        value = value.item()
    if key != "learning_rate" or isinstance(value, keras.optimizers.schedules.LearningRateSchedule):
        return value
    if _is_number(value):
        if not (math.isfinite(value) and value > 0):
            raise ValueError(f"`learning_rate` must be a finite float > 0. Received: learning_rate={float(value)}")
        return float(value)
    if callable(value):
        return value
    raise ValueError(
        "`learning_rate` must be a float, an int, a numpy scalar or a keras.optimizers.schedules.LearningRateSchedule. "
        f"Received: learning_rate={value!r}"
    )


def _import_plugin(name):
    if ":" in name:
        module_name, _, attribute = name.partition(":")
        try:
            optimizer_class = importlib.import_module(module_name)
        except ImportError as error:
            raise ValueError(f"Cannot import the module of optimizer plug-in {name!r}: {error}") from error
        for part in attribute.split("."):
            optimizer_class = getattr(optimizer_class, part, None)
            if optimizer_class is None:
                raise ValueError(f"Module {module_name!r} has no attribute {attribute!r} (optimizer plug-in {name!r}).")
    else:
        optimizer_class = keras.saving.get_registered_object(name)
        if optimizer_class is None:
            _spec_for(name)  # raises the unknown-name error
    if not (isinstance(optimizer_class, type) and issubclass(optimizer_class, keras.optimizers.Optimizer)):
        raise ValueError(
            f"Optimizer plug-in {name!r} is not a subclass of keras.optimizers.Optimizer: {optimizer_class!r}"
        )
    return optimizer_class


def _check_overrides(name, overrides, accepted):
    unknown = sorted(set(overrides) - accepted)
    if unknown:
        raise ValueError(f"Unknown override(s) {unknown} for optimizer {name!r}. Accepted: {sorted(accepted)}.")


def make_optimizer(name, **overrides):
    """Builds an optimizer by name, with its table defaults and overrides.

    Args:
        name: One of `list_optimizers()` ("sgd", "sgdm", "adam", "nadam",
            "amsgrad", "adamw", "padam"); or a plug-in class given as
            "package.module:ClassName"; or a name registered with
            `keras.saving.register_keras_serializable` ("package>ClassName").
        **overrides: Replace defaults or set other constructor arguments:
            `learning_rate` (float, int, numpy scalar or a
            `LearningRateSchedule`; numbers become Python floats),
            `weight_decay` (the defining decay, ``OPTIMIZERS[name].decay``;
            `None` or `0` turns it off), `decay_variables` ("all" or
            "kernels"), `momentum`, `beta_1`, `beta_2`, `epsilon`, `amsgrad`,
            `partial` where the optimizer has them, and Keras' base arguments
            (`clipnorm`, `use_ema`, `gradient_accumulation_steps`, ...).

    Returns:
        A new `keras.optimizers.Optimizer`. Build a new one rather than
        mutating hyperparameters of one in use: Keras freezes Python floats
        into the traced train function.

    Raises:
        ValueError: for an unknown name (the message lists the valid ones),
            an override the optimizer does not accept, or a bad value.
    """
    overrides = {k: _python_value(k, v) for k, v in overrides.items()}
    if not is_plugin(name):
        spec = _spec_for(name)  # raises the unknown-name error
        _check_overrides(name, overrides, _constructor_arguments(spec.optimizer_class) - {"coupled_weight_decay"})
        kwargs = {**spec.defaults, **overrides}
        if spec.decay == COUPLED:
            kwargs["coupled_weight_decay"] = kwargs.pop("weight_decay", None)
        elif kwargs.get("weight_decay") is None:
            kwargs["weight_decay"] = 0.0  # Keras' AdamW refuses None
        return spec.optimizer_class(**kwargs)

    optimizer_class = _import_plugin(name)
    accepted = (_constructor_arguments(optimizer_class) | set(_COUPLED_ARGUMENTS) | {"weight_decay"}) - {
        "coupled_weight_decay"
    }
    _check_overrides(name, overrides, accepted)
    kwargs = dict(overrides)
    weight_decay = kwargs.pop("weight_decay", None)
    if weight_decay or "decay_variables" in kwargs:
        optimizer_class = with_coupled_decay(optimizer_class)
        kwargs["coupled_weight_decay"] = weight_decay
    return optimizer_class(**kwargs)


def defaults_table_markdown():
    """The table as Markdown (what docs/optimizers.md shows)."""
    columns = [
        "learning_rate", "momentum", "beta_1", "beta_2", "epsilon",
        "partial", "amsgrad", "weight_decay",
    ]
    lines = [
        "| name | class | " + " | ".join(columns) + " | decay kind | source |",
        "|" + "---|" * (len(columns) + 4),
    ]
    for name, spec in OPTIMIZERS.items():
        cells = [
            "" if spec.defaults.get(c) is None else repr(spec.defaults[c])
            for c in columns
        ]
        lines.append(
            f"| {name} | `{spec.optimizer_class.__name__}` | "
            + " | ".join(cells)
            + f" | {spec.decay} | {spec.source} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(defaults_table_markdown(), end="")
