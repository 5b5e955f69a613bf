"""SGD with momentum in the form the reference scripts ran: the learning rate
multiplies the velocity when the step is taken, not when the velocity is built.

Keras' `SGD` keeps a velocity of *learning-rate-scaled* steps,

    m <- mu * m - lr * g;   theta <- theta + m

while PyTorch's `torch.optim.SGD` (which the He et al. and Padam reference
scripts ran on) keeps a velocity of *raw gradients*,

    v <- mu * v + g;        theta <- theta - lr * v

With a constant learning rate the two are the same update (m = -lr * v). They
part when the learning rate changes. At a step decay (lr -> lr / 10) PyTorch's
very next step is ten times smaller, but the Keras velocity still holds steps
taken at the old rate, and with mu = 0.9 it keeps moving the weights at that
rate for about 1 / (1 - mu) = 10 steps, with the gradient's restoring pull
already ten times weaker. On ResNet-20 (cpu-quick preset, sgdm, seed 0) that
overshoot raised the per-batch train loss from about 1.7 to 2.3 over the ~14
steps after the decay, and the epoch's mean loss from 1.71 to 1.83, where
the PyTorch form and a constant-lr run both kept falling (1.60 and 1.62).
So `sgd` and `sgdm` in the registry use `HeavyBallSGD`; Keras' own SGD stays
available as `keras.optimizers.SGD`.

Nesterov momentum follows PyTorch too: theta <- theta - lr * (g + mu * v).
"""

import keras
from keras import ops

from keras_resnet_opt.optimizers.coupled_decay import with_coupled_decay


@keras.saving.register_keras_serializable(package="keras_resnet_opt")
class HeavyBallSGD(keras.optimizers.SGD):
    """Keras `SGD` whose momentum slot holds raw gradients (PyTorch's form).

    Same arguments, defaults and slots as `keras.optimizers.SGD`; only where
    the learning rate enters the momentum update differs (module docstring).
    Without momentum it is plain SGD, identical to Keras'.
    """

    def update_step(self, gradient, variable, learning_rate):
        if self.momentum == 0:
            return super().update_step(gradient, variable, learning_rate)
        learning_rate = ops.cast(learning_rate, variable.dtype)
        gradient = ops.cast(gradient, variable.dtype)
        momentum = ops.cast(self.momentum, variable.dtype)
        velocity = self.momentums[self._get_variable_index(variable)]
        self.assign(velocity, ops.add(ops.multiply(velocity, momentum), gradient))
        direction = ops.add(gradient, ops.multiply(velocity, momentum)) if self.nesterov else velocity
        self.assign_sub(variable, ops.multiply(direction, learning_rate))


CoupledHeavyBallSGD = with_coupled_decay(HeavyBallSGD)
