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
already ten times weaker. On ResNet-20 that overshoot made the train loss rise
after each decay, where the PyTorch form kept it falling (measured figures in
docs/optimizers.md). So `sgd` and `sgdm` in the registry use `HeavyBallSGD`;
Keras' own SGD stays available as `keras.optimizers.SGD`.

Nesterov momentum follows PyTorch too: theta <- theta - lr * (g + mu * v).
"""

import keras
from keras import ops

from keras_resnet_opt.optimizers.coupled_decay import with_coupled_decay


@keras.saving.register_keras_serializable(package="keras_resnet_opt")
class HeavyBallSGD(keras.optimizers.SGD):
    """Keras `SGD` whose momentum slot holds raw gradients (PyTorch's form).

    Same arguments and defaults as `keras.optimizers.SGD`, and a momentum slot
    of the same name, which however holds raw gradients, not lr-scaled steps:
    a checkpoint of one cannot continue as the other (the training runner
    refuses such a resume). Without momentum it is plain SGD, identical to
    Keras'.
    """

    def update_step(self, gradient, variable, learning_rate):
        if self.momentum == 0:
            return super().update_step(gradient, variable, learning_rate)
        learning_rate = ops.cast(learning_rate, variable.dtype)
        gradient = ops.cast(gradient, variable.dtype)
        momentum = ops.cast(self.momentum, variable.dtype)
        velocity = self.momentums[self._get_variable_index(variable)]
        new_velocity = ops.add(ops.multiply(velocity, momentum), gradient)
        self.assign(velocity, new_velocity)
        direction = ops.add(gradient, ops.multiply(new_velocity, momentum)) if self.nesterov else new_velocity
        self.assign_sub(variable, ops.multiply(direction, learning_rate))


CoupledHeavyBallSGD = with_coupled_decay(HeavyBallSGD)
