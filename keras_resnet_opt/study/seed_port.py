"""`SeedPortPadam`: the seed report's broken Padam port, reproduced on purpose.

The student report this project started from concluded that "Padam
underperforms AMSGrad". Its Padam was a port (a subclass of a TF-Addons
optimizer overriding only the dense update) with the mistakes listed in
``../shared/docs/reference.md`` section 7. The cpu-budget study's control arm
runs this class beside the correct `keras_resnet_opt.optimizers.Padam`, in the
report's own setting (preset ``seed-protocol``), to tell whether that
conclusion came from the setting, the port, or Padam.

It is a plug-in, used through the registry's ``module:Class`` path::

    python scripts/train.py --preset seed-protocol \\
        --optimizer keras_resnet_opt.study.seed_port:SeedPortPadam --lr 0.1

Per variable, at update ``t = 1, 2, ...`` (the correct rule is in
docs/optimizers.md):

    m     = (1 - b1) g              moments computed from the slots, which are
    v     = (1 - b2) g^2            never written back: they stay zero, so there
                                    is no momentum and no second-moment history
    m_hat = m / (1 - b1^t)          bias correction on m and v ...
    v_hat = v / (1 - b2^t)
    denom = (sqrt(v_hat) + eps)^p   exponent p, not 2p; no AMSGrad maximum
    alpha = lr sqrt(1 - b2^t) / (1 - b1^t)   ... and again in the step size
    theta <- theta - alpha * m_hat / denom

Weight decay: the port accepted one and never applied it. The control arm
reproduces that with no decay (the ``seed-protocol`` preset's 0), which is
what the port computed; this class has no decay of its own.

This is a reconstruction of the port from the listed mistakes, not its code
(which is not part of this project). Never use it for anything but that
control arm.
"""

import keras
from keras import ops

from keras_resnet_opt.optimizer_names import PADAM_DEFAULT_PARTIAL


@keras.saving.register_keras_serializable(package="keras_resnet_opt")
class SeedPortPadam(keras.optimizers.Optimizer):
    """The seed report's Padam port, mistakes included (see the module docstring).

    Args:
        learning_rate: the step size. Defaults to 0.1 (what the report used).
        beta_1, beta_2, epsilon: as Padam's. Defaults to 0.9, 0.999, 1e-8.
        partial: Padam's p, which this port uses as the exponent of the
            denominator (the correct rule uses 2p). Defaults to 0.125.
        **kwargs: Keras optimizer arguments (name, clipnorm, ...).
    """

    def __init__(self, learning_rate=0.1, beta_1=0.9, beta_2=0.999, epsilon=1e-8, partial=PADAM_DEFAULT_PARTIAL,
                 name="seed_port_padam", **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.partial = partial

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        # The port's slots: created, read, never assigned.
        self._momentums, self._velocities = self.add_optimizer_variables(var_list, ["momentum", "velocity"])

    def update_step(self, gradient, variable, learning_rate):
        dtype = variable.dtype
        gradient = ops.cast(gradient, dtype)
        lr = ops.cast(learning_rate, dtype)
        step = ops.cast(self.iterations + 1, dtype)
        beta_1, beta_2 = ops.cast(self.beta_1, dtype), ops.cast(self.beta_2, dtype)
        index = self._get_variable_index(variable)
        m = beta_1 * self._momentums[index] + (1.0 - beta_1) * gradient  # slot is always zero
        v = beta_2 * self._velocities[index] + (1.0 - beta_2) * ops.square(gradient)
        correction_1 = 1.0 - ops.power(beta_1, step)
        correction_2 = 1.0 - ops.power(beta_2, step)
        m_hat = m / correction_1
        v_hat = v / correction_2
        denom = ops.power(ops.sqrt(v_hat) + ops.cast(self.epsilon, dtype), ops.cast(self.partial, dtype))
        alpha = lr * ops.sqrt(correction_2) / correction_1
        self.assign_sub(variable, alpha * m_hat / denom)

    def get_config(self):
        config = super().get_config()
        config.update(beta_1=self.beta_1, beta_2=self.beta_2, epsilon=self.epsilon, partial=self.partial)
        return config
