"""A plug-in optimizer defined outside the package, as a user's own module would be
(``--optimizer plugin_optimizers:SignDescent``; tests/ is on sys.path under pytest)."""

import keras


class SignDescent(keras.optimizers.Optimizer):
    """theta <- theta - lr * sign(g). Not registered with Keras: a checkpoint of it
    loads only because the runner passes the class it imported."""

    def __init__(self, learning_rate=0.01, name="sign_descent", **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)

    def update_step(self, gradient, variable, learning_rate):
        lr = keras.ops.cast(learning_rate, variable.dtype)
        self.assign_sub(variable, lr * keras.ops.sign(gradient))


class NoDefaultRate(keras.optimizers.SGD):
    """A plug-in whose class sets no learning rate: runs and searches must be given one."""

    def __init__(self, learning_rate, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
