"""keras-resnet-opt: how optimizers really compare on CIFAR-10 ResNets.

The package holds all logic; ``scripts/`` and ``tuning/`` are thin command-line
shells over it. Submodules are imported lazily by their users so that
``import keras_resnet_opt`` stays cheap (TensorFlow loads only when needed).
"""

__version__ = "0.1.0"
