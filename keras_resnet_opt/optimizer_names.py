"""The optimizers' registry names and Padam's default p, without importing Keras.

Configs, help texts and the study read these before (or without) any Keras
import: the study reads results with pandas alone, and a command's ``--help``
should not wait for TensorFlow. `keras_resnet_opt.optimizers.registry` holds
each optimizer's class and defaults; the names and p here are the same
optimizers, kept once so that nothing else repeats them.
"""

# Every optimizer the registry offers, in the order tables and legends show
# them: plain SGD first, the adaptive methods next, Padam (which interpolates
# between SGD-momentum and AMSGrad) last.
OPTIMIZER_NAMES = ("sgd", "sgdm", "adam", "nadam", "amsgrad", "adamw", "padam")

# p = 1/8 is what the Padam paper, its README and reference scripts use (the
# reference class itself defaults to 1/4); it is the p of the main comparison.
PADAM_DEFAULT_PARTIAL = 0.125

# The optimizers that have a "partial" exponent p, with their default p.
DEFAULT_PARTIAL = {"padam": PADAM_DEFAULT_PARTIAL}
