"""Padam: partially adaptive momentum estimation (Chen & Gu, arXiv 1806.06763).

Implements exactly the rule of the authors' reference code (uclaml/Padam,
Padam.py), per variable theta with gradient g at step t = 1, 2, ...:

    g     <- g + coupled_weight_decay * theta       (coupled L2, optional)
    m     <- beta_1 * m + (1 - beta_1) * g
    v     <- beta_2 * v + (1 - beta_2) * g^2
    vhat  <- max(vhat, v) if amsgrad else v
    denom <- (sqrt(vhat) + epsilon) ^ (2 * partial)   (epsilon BEFORE the power)
    alpha <- learning_rate * sqrt(1 - beta_2^t) / (1 - beta_1^t)
    theta <- theta - alpha * m / denom

The bias correction is Adam's (sqrt(1 - beta_2^t), not its `partial` power):
the authors tried the latter and reverted it. It makes the first steps small,
an implicit warm-up: at t = 1 with partial = 1/8 the step is 0.075 of a fully
corrected one.
"""

import numbers

import keras
from keras import ops

from keras_resnet_opt.optimizer_names import PADAM_DEFAULT_PARTIAL, check_partial
from keras_resnet_opt.optimizers.coupled_decay import CoupledWeightDecay

# Exponents 2p = 2^-k with k up to this are computed by k square roots.
_MAX_SQRT_HALVINGS = 4


class _PadamRule(keras.optimizers.Optimizer):
    """Padam's slots and update rule; `Padam` puts coupled decay in front.

    Kept apart from `Padam` so that the one coupled-decay mechanism
    (`CoupledWeightDecay.update_step`, which then calls this `update_step`)
    serves Padam exactly as it serves the Keras optimizers.
    """

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._momentums, self._velocities = self.add_optimizer_variables(
            var_list, ["momentum", "velocity"]
        )
        if self.amsgrad:
            self._velocity_maxes = self.add_optimizer_variables(
                var_list, "velocity_max"
            )

    def _backend_update_step(self, grads, trainable_variables, learning_rate):
        # alpha is the same for every variable: compute it once per update and
        # hand it to `update_step` in place of the learning rate. Keras Adam
        # computes it once per variable; the ~10 small ops per variable this
        # saves outweigh Padam's extra square roots (benchmarks/optimizer_step.py).
        super()._backend_update_step(
            grads, trainable_variables, self._step_size(learning_rate)
        )

    def _step_size(self, learning_rate):
        """alpha = lr * sqrt(1 - beta_2^t) / (1 - beta_1^t), Adam's bias
        correction (not its `partial` power, which the authors tried and
        reverted), in the learning rate's float dtype."""
        lr = ops.convert_to_tensor(learning_rate)
        dtype = lr.dtype
        # `iterations` is int64 on TF: cast before float maths. With gradient
        # accumulation it already counts real updates.
        step = ops.cast(self.iterations + 1, dtype)
        beta_1 = ops.cast(self.beta_1, dtype)
        beta_2 = ops.cast(self.beta_2, dtype)
        return (
            lr
            * ops.sqrt(1.0 - ops.power(beta_2, step))
            / (1.0 - ops.power(beta_1, step))
        )

    def update_step(self, gradient, variable, learning_rate):
        """One Padam update of `variable`.

        `learning_rate` here is already the bias-corrected step size alpha
        (see `_backend_update_step`), as `apply()` passes it.
        """
        dtype = variable.dtype
        alpha = ops.cast(learning_rate, dtype)
        gradient = ops.cast(gradient, dtype)

        index = self._get_variable_index(variable)
        m = self._momentums[index]
        v = self._velocities[index]
        # m + (1 - b) (g - m) == b m + (1 - b) g, the form Keras Adam uses,
        # with 1 - b taken in Python floats as Keras Adam and the reference
        # code do (1 - float32(0.999) is off by 1.3e-5 relative): partial = 1/2
        # then reproduces Adam(amsgrad=True) bit for bit (a test checks it).
        self.assign_add(
            m,
            ops.multiply(
                ops.subtract(gradient, m), ops.cast(1.0 - self.beta_1, dtype)
            ),
        )
        self.assign_add(
            v,
            ops.multiply(
                ops.subtract(ops.square(gradient), v),
                ops.cast(1.0 - self.beta_2, dtype),
            ),
        )
        if self.amsgrad:
            v_max = self._velocity_maxes[index]
            self.assign(v_max, ops.maximum(v_max, v))
            v = v_max
        denominator = self._partial_power(
            ops.add(ops.sqrt(v), ops.cast(self.epsilon, dtype))
        )
        self.assign_sub(variable, ops.divide(ops.multiply(m, alpha), denominator))

    def _partial_power(self, x):
        """x ** (2 * partial); by repeated square roots when 2 * partial is
        1, 1/2, 1/4, 1/8 or 1/16 (p = 1/2 ... 1/32).

        A general power costs a log and an exp per element (with it, Padam's
        update took 1.4x to 1.6x Adam's on ResNet-20 on a 2-core CPU, see
        benchmarks/optimizer_step.py);
        square roots are cheap and correctly rounded, so the result agrees
        with the power to about one float32 ulp. Other p use the power.
        """
        exponent = 2.0 * self.partial
        if exponent == 0.0:
            return ops.ones_like(x)
        for halvings in range(_MAX_SQRT_HALVINGS + 1):
            if exponent == 0.5**halvings:
                for _ in range(halvings):
                    x = ops.sqrt(x)
                return x
        return ops.power(x, ops.cast(exponent, x.dtype))


@keras.saving.register_keras_serializable(package="keras_resnet_opt")
class Padam(CoupledWeightDecay, _PadamRule):
    """Optimizer that implements the Padam algorithm.

    Padam (partially adaptive momentum estimation) is AMSGrad with the
    adaptive denominator raised to a partial power: the update is
    `alpha * m / (sqrt(vhat) + epsilon) ** (2 * partial)`, with Adam's moment
    estimates `m`, `v`, the AMSGrad maximum `vhat = max(vhat, v)` and Adam's
    bias correction `alpha = learning_rate * sqrt(1 - beta_2^t) /
    (1 - beta_1^t)`. The partial power `partial` (p) moves Padam between two
    known methods: `partial=0.5` is exactly AMSGrad (Keras
    `Adam(amsgrad=True)` with the same `epsilon`), and `partial -> 0` removes
    the denominator, leaving SGD with (bias-corrected, exponential-average)
    momentum. In between, Padam takes SGD-sized learning rates (0.1) without
    the step blow-up a small adaptive denominator causes in Adam, and the
    authors report it converging nearly as fast as Adam while generalising as
    well as SGD with momentum.

    `epsilon` is added *before* the power, as in the reference code, so the
    smallest denominator is `epsilon ** (2 * partial)` (1e-2 for p = 1/8).

    Weight decay is the papers' coupled L2 (`coupled_weight_decay`, added to
    the gradient before the update, on the variables `decay_variables`
    selects); Keras' decoupled `weight_decay` is available too.

    Reference:
        [Chen et al., 2020](https://arxiv.org/abs/1806.06763), "Closing the
        Generalization Gap of Adaptive Gradient Methods in Training Deep
        Neural Networks", IJCAI 2020; reference code uclaml/Padam.

    Args:
        learning_rate: A float > 0, a
            `keras.optimizers.schedules.LearningRateSchedule` instance, or a
            callable that takes no arguments and returns the value to use.
            Defaults to `0.1` (the paper's value).
        beta_1: Float in [0, 1). Decay rate of the first-moment estimate.
            Defaults to `0.9`.
        beta_2: Float in [0, 1). Decay rate of the second-moment estimate.
            Defaults to `0.999`.
        epsilon: Float > 0, added to `sqrt(vhat)` before the partial power.
            Defaults to `1e-8` (the reference code's value; Keras Adam's
            default is `1e-7`).
        partial: Float in [0, 0.5], the partially adaptive parameter p.
            `0.5` is AMSGrad, `0` is SGD with momentum. Defaults to `0.125`
            (1/8, the paper's and reference scripts' value; the reference
            class itself defaults to 1/4).
        amsgrad: Boolean. Whether to divide by the running maximum of the
            second-moment estimate (AMSGrad) rather than the estimate itself.
            Defaults to `True`, as in the paper.
        coupled_weight_decay: Float >= 0 or `None`. Coupled L2 coefficient:
            the gradient becomes `g + coupled_weight_decay * theta` before the
            update. The paper uses `5e-4`. Defaults to `None` (no decay).
        decay_variables: `"all"` or `"kernels"`. Which trainable variables
            decay (both coupled and Keras' decoupled decay): all of them, as
            the reference code does, or only kernels. Defaults to `"all"`.
        weight_decay: Float or `None`. Keras' *decoupled* weight decay
            (`theta <- theta - learning_rate * weight_decay * theta`), not the
            paper's. Defaults to `None`.
        clipnorm: Float or `None`. Clip each gradient to this norm.
            Defaults to `None`.
        clipvalue: Float or `None`. Clip each gradient element to this
            absolute value. Defaults to `None`.
        global_clipnorm: Float or `None`. Clip all gradients jointly to this
            global norm. Defaults to `None`.
        use_ema: Boolean. Keep an exponential moving average of the weights.
            Defaults to `False`.
        ema_momentum: Float in [0, 1], the EMA momentum. Defaults to `0.99`.
        ema_overwrite_frequency: Int or `None`. Overwrite the weights with
            their EMA every this many steps. Defaults to `None`.
        loss_scale_factor: Float or `None`. Static loss scale (the gradient
            is divided by it before the update). Defaults to `None`.
        gradient_accumulation_steps: Int >= 2 or `None`. Update every this
            many steps with the mean accumulated gradient. Defaults to `None`.
        name: String or `None`. Name of the optimizer's variables' scope.
            Defaults to `None` ("padam").
    """

    def __init__(
        self,
        learning_rate=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        partial=PADAM_DEFAULT_PARTIAL,
        amsgrad=True,
        coupled_weight_decay=None,
        decay_variables="all",
        weight_decay=None,
        clipnorm=None,
        clipvalue=None,
        global_clipnorm=None,
        use_ema=False,
        ema_momentum=0.99,
        ema_overwrite_frequency=None,
        loss_scale_factor=None,
        gradient_accumulation_steps=None,
        name=None,
        **kwargs,
    ):
        _validate_padam_args(learning_rate, beta_1, beta_2, epsilon, partial)
        super().__init__(
            learning_rate=learning_rate,
            coupled_weight_decay=coupled_weight_decay,
            decay_variables=decay_variables,
            weight_decay=weight_decay,
            clipnorm=clipnorm,
            clipvalue=clipvalue,
            global_clipnorm=global_clipnorm,
            use_ema=use_ema,
            ema_momentum=ema_momentum,
            ema_overwrite_frequency=ema_overwrite_frequency,
            loss_scale_factor=loss_scale_factor,
            gradient_accumulation_steps=gradient_accumulation_steps,
            name=name,
            **kwargs,
        )
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.partial = partial
        self.amsgrad = amsgrad

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "beta_1": self.beta_1,
                "beta_2": self.beta_2,
                "epsilon": self.epsilon,
                "partial": self.partial,
                "amsgrad": self.amsgrad,
            }
        )
        return config


def _is_number(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _validate_padam_args(learning_rate, beta_1, beta_2, epsilon, partial):
    if _is_number(learning_rate) and not learning_rate > 0:
        raise ValueError(
            "`learning_rate` must be > 0. "
            f"Received: learning_rate={learning_rate}"
        )
    if not (
        _is_number(learning_rate)
        or isinstance(learning_rate, keras.optimizers.schedules.LearningRateSchedule)
        or callable(learning_rate)
    ):
        raise ValueError(
            "`learning_rate` must be a float > 0, a LearningRateSchedule or a "
            f"callable. Received: learning_rate={learning_rate!r}"
        )
    for arg_name, value in (("beta_1", beta_1), ("beta_2", beta_2)):
        if not (_is_number(value) and 0 <= value < 1):
            raise ValueError(
                f"`{arg_name}` must be in [0, 1). Received: {arg_name}={value}"
            )
    if not (_is_number(epsilon) and epsilon > 0):
        raise ValueError(f"`epsilon` must be > 0. Received: epsilon={epsilon}")
    check_partial(partial)
