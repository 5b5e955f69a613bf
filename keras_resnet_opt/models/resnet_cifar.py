"""He et al. (2016) CIFAR ResNets: depth 6n+2 (20, 32, 44, 56, 110).

Three stages of ``n`` basic blocks at widths 16/32/64 (times ``width_multiplier``),
3x3 convolutions, global average pooling and a 10-way dense layer, following
section 4.2 of "Deep Residual Learning for Image Recognition"
(https://arxiv.org/abs/1512.03385). Shortcuts are identities; where the shape
changes they are "option A" (subsample by 2, zero-pad the new channels, no
parameters) by default, or "option B" (1x1 projection + BatchNorm).

Published parameter counts: ResNet-20 0.27M, -32 0.46M, -44 0.66M, -56 0.85M,
-110 1.7M (option A).
"""

import keras
from keras import layers, ops

from keras_resnet_opt.models.blocks import batch_norm_options, conv_bn, output_head
from keras_resnet_opt.models.preprocessing import normalization_layer

STAGE_WIDTHS = (16, 32, 64)
SHORTCUTS = ("A", "B")


def blocks_per_stage(depth):
    """Return n for a depth of 6n + 2, or raise a ValueError naming valid depths."""
    if not isinstance(depth, int) or depth < 8 or (depth - 2) % 6:
        raise ValueError(
            "`depth` must be 6n+2 for an integer n >= 1 (8, 14, 20, 32, 44, 56, "
            f"110, ...). Received: depth={depth!r}"
        )
    return (depth - 2) // 6


@keras.saving.register_keras_serializable(package="keras_resnet_opt")
class ZeroPadShortcut(layers.Layer):
    """Option A shortcut: subsample by ``stride`` and zero-pad the new channels.

    A named layer rather than a Lambda so that `.keras` files load in safe mode.
    """

    def __init__(self, filters, stride, **kwargs):
        super().__init__(**kwargs)
        self.filters = filters
        self.stride = stride

    def call(self, inputs):
        if self.stride > 1:
            # Every stride-th pixel, as a 1x1 average pool: the same values as
            # the slice inputs[:, ::s, ::s, :], but a pooling kernel (oneDNN on
            # the CPU) instead of TensorFlow's strided slice, whose forward
            # and gradient cost 20 ms a ResNet-20 step in bf16 (benchmarks/README.md).
            inputs = ops.average_pool(inputs, pool_size=1, strides=self.stride, padding="valid")
        extra = self.filters - inputs.shape[-1]
        if extra:
            inputs = ops.pad(inputs, [[0, 0], [0, 0], [0, 0], [extra // 2, extra - extra // 2]])
        return inputs

    def compute_output_shape(self, input_shape):
        batch, height, width, _ = input_shape
        shrink = lambda d: None if d is None else -(-d // self.stride)  # noqa: E731
        return (batch, shrink(height), shrink(width), self.filters)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "stride": self.stride}


def _basic_block(x, filters, stride, shortcut, name, bn=None):
    needs_projection = stride != 1 or x.shape[-1] != filters
    y = conv_bn(x, filters, 3, stride, name=f"{name}_conv1", activation=True, bn=bn)
    y = conv_bn(y, filters, 3, 1, name=f"{name}_conv2", activation=False, bn=bn)
    if not needs_projection:
        s = x
    elif shortcut == "A":
        s = ZeroPadShortcut(filters, stride, name=f"{name}_shortcut")(x)
    else:
        s = conv_bn(x, filters, 1, stride, name=f"{name}_shortcut", activation=False, bn=bn)
    y = layers.Add(name=f"{name}_add")([y, s])
    return layers.Activation("relu", name=f"{name}_out")(y)


def resnet_cifar(
    depth=20,
    num_classes=10,
    input_shape=(32, 32, 3),
    shortcut="A",
    width_multiplier=1,
    include_preprocessing=True,
    synchronized_bn=False,
    bn_groups=1,
    name=None,
):
    """Build He et al.'s CIFAR ResNet of the given depth as a functional model.

    Args:
        depth: 6n+2, e.g. 20, 32, 44, 56 or 110. Defaults to 20.
        num_classes: size of the softmax output. Defaults to 10.
        input_shape: image shape, channels last. Defaults to (32, 32, 3).
        shortcut: "A" (zero-padding, the paper's CIFAR choice) or "B" (1x1
            projections). Defaults to "A".
        width_multiplier: scales the 16/32/64 stage widths; only tiny test
            models use values other than 1. Defaults to 1.
        include_preprocessing: put per-channel normalisation inside the model,
            so it takes pixels in [0, 255]. Defaults to True.
        synchronized_bn: BatchNorm statistics over all replicas of a
            tf.distribute strategy. Defaults to False.
        bn_groups: BatchNorm training statistics over this many equal parts
            of each batch, as that many unsynchronised devices compute them
            (He et al.: batch 128 on two GPUs). Defaults to 1.
        name: model name. Defaults to "resnet{depth}".

    Returns:
        A `keras.Model` whose output is class probabilities (softmax, float32).
    """
    n = blocks_per_stage(depth)
    if shortcut not in SHORTCUTS:
        raise ValueError(f"`shortcut` must be one of {SHORTCUTS}. Received: shortcut={shortcut!r}")
    if int(width_multiplier) != width_multiplier or width_multiplier < 1:
        raise ValueError(
            f"`width_multiplier` must be a positive integer. Received: width_multiplier={width_multiplier!r}"
        )
    widths = [int(w * width_multiplier) for w in STAGE_WIDTHS]

    bn = batch_norm_options(synchronized_bn, bn_groups)
    inputs = keras.Input(shape=input_shape, name="images")
    x = normalization_layer()(inputs) if include_preprocessing else inputs
    x = conv_bn(x, widths[0], 3, 1, name="stem", activation=True, bn=bn)
    for stage, filters in enumerate(widths, start=1):
        for block in range(1, n + 1):
            stride = 2 if stage > 1 and block == 1 else 1
            x = _basic_block(x, filters, stride, shortcut, name=f"stage{stage}_block{block}", bn=bn)
    x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    outputs = output_head(x, num_classes)
    return keras.Model(inputs, outputs, name=name or f"resnet{depth}")
