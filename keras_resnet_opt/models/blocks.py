"""Layers shared by every ResNet here, named so weights keep stable paths."""

from keras import layers

from keras_resnet_opt.models.batch_norm import FusedBatchNormalization

# PyTorch's BatchNorm momentum 0.1 is Keras' 0.9; eps 1e-5 matches both papers' code.
BN_MOMENTUM = 0.9
BN_EPSILON = 1e-5


def batch_norm_options(synchronized=False, groups=1):
    """The BatchNorm settings every conv_bn of one model shares.

    ``synchronized`` computes batch statistics over all replicas of a
    tf.distribute strategy, so a distributed step equals a single-device step
    on the same global batch; ``groups`` computes them over that many parts
    of each batch instead, as unsynchronised devices would
    (`FusedBatchNormalization`).
    """
    return {"synchronized": bool(synchronized), "groups": int(groups)}


def conv_bn(x, filters, kernel_size, stride, name, activation, bn=None):
    """Conv (no bias: BatchNorm follows) + BatchNorm, optionally ReLU; ``bn``: `batch_norm_options`."""
    x = layers.Conv2D(
        filters,
        kernel_size,
        strides=stride,
        padding="same",
        use_bias=False,
        kernel_initializer="he_normal",
        name=f"{name}_conv",
    )(x)
    x = FusedBatchNormalization(
        momentum=BN_MOMENTUM, epsilon=BN_EPSILON, name=f"{name}_bn", **(bn or batch_norm_options())
    )(x)
    if activation:
        x = layers.Activation("relu", name=f"{name}_relu")(x)
    return x


def output_head(x, num_classes):
    """Dense classifier with a float32 softmax, so mixed precision never
    computes the loss or the exported probabilities in half precision."""
    x = layers.Dense(num_classes, name="logits")(x)
    return layers.Activation("softmax", dtype="float32", name="probabilities")(x)
