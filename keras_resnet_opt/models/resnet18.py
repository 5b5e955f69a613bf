"""The wide "ResNet-18" of the Padam paper's CIFAR-10 experiments.

The ImageNet ResNet-18 layout adapted to 32x32 inputs as in the Padam
reference scripts: a 3x3 stem of 64 channels with no max-pool, BasicBlocks
[2, 2, 2, 2] at widths 64/128/256/512 (strides 1/2/2/2), 1x1 projection
shortcuts where the shape changes, 4x4 average pooling and a dense layer.
About 11.2M parameters; not He et al.'s ResNet-20.
"""

import keras
from keras import layers

from keras_resnet_opt.models.blocks import batch_norm_options, conv_bn, output_head
from keras_resnet_opt.models.preprocessing import normalization_layer

STAGES = ((64, 1), (128, 2), (256, 2), (512, 2))
BLOCKS_PER_STAGE = 2


def _basic_block(x, filters, stride, name, bn=None):
    y = conv_bn(x, filters, 3, stride, name=f"{name}_conv1", activation=True, bn=bn)
    y = conv_bn(y, filters, 3, 1, name=f"{name}_conv2", activation=False, bn=bn)
    if stride != 1 or x.shape[-1] != filters:
        x = conv_bn(x, filters, 1, stride, name=f"{name}_shortcut", activation=False, bn=bn)
    y = layers.Add(name=f"{name}_add")([y, x])
    return layers.Activation("relu", name=f"{name}_out")(y)


def resnet18(
    num_classes=10, input_shape=(32, 32, 3), include_preprocessing=True, synchronized_bn=False, bn_groups=1,
    name="resnet18",
):
    """Build the Padam paper's CIFAR ResNet-18 as a functional model.

    Args:
        num_classes: size of the softmax output. Defaults to 10.
        input_shape: image shape, channels last. Defaults to (32, 32, 3).
        include_preprocessing: put per-channel normalisation inside the model,
            so it takes pixels in [0, 255]. Defaults to True.
        synchronized_bn: BatchNorm statistics over all replicas of a
            tf.distribute strategy. Defaults to False.
        bn_groups: BatchNorm training statistics over this many equal parts
            of each batch, as that many unsynchronised devices compute them
            (He et al.: batch 128 on two GPUs). Defaults to 1.
        name: model name. Defaults to "resnet18".

    Returns:
        A `keras.Model` whose output is class probabilities (softmax, float32).
    """
    bn = batch_norm_options(synchronized_bn, bn_groups)
    inputs = keras.Input(shape=input_shape, name="images")
    x = normalization_layer()(inputs) if include_preprocessing else inputs
    x = conv_bn(x, 64, 3, 1, name="stem", activation=True, bn=bn)
    for stage, (filters, first_stride) in enumerate(STAGES, start=1):
        for block in range(1, BLOCKS_PER_STAGE + 1):
            stride = first_stride if block == 1 else 1
            x = _basic_block(x, filters, stride, name=f"stage{stage}_block{block}", bn=bn)
    # 4x4 average pool over the final 4x4 map == global average pool for 32x32 inputs.
    x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    outputs = output_head(x, num_classes)
    return keras.Model(inputs, outputs, name=name)
