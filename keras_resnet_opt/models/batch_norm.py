"""Batch normalisation that runs as one fused kernel on the TensorFlow backend.

Keras 3's `BatchNormalization` computes its statistics and the normalisation
from a dozen separate ops (mean, squared difference, rsqrt, multiply, ...),
and under a bfloat16 policy it casts the input to float32 and back around
them. On the CPU that made batch norm and its casts about a third of a
ResNet-20 training step, three times what PyTorch spends on it
(`benchmarks/README.md`, profile). TensorFlow has a fused kernel for exactly
this (`FusedBatchNormV3`, taken by oneDNN on the CPU and by cuDNN on a GPU,
which also fuses a following ReLU), so this layer calls it and keeps
everything else of Keras' layer: the same weights, the same moving-average
rule and the same configuration, so models and checkpoints stay compatible.

The fused kernel reports the batch variance with Bessel's correction (for
running averages); Keras averages the plain (biased) variance, so it is
converted back before the moving variance is updated. Outputs, gradients and
moving statistics agree with Keras' layer to float rounding
(`tests/test_batch_norm.py`).

Whenever the fused kernel does not apply (another backend, synchronised
statistics across replicas, a mask, renormalisation, a layout other than
channels-last 4-D), the layer is Keras' own.

``groups`` > 1 computes the training statistics over each of that many equal
parts of the batch, in order, as data-parallel training on that many devices
without synchronised batch norm does: He et al. trained their CIFAR ResNets
with batch 128 on two GPUs, so their statistics came from 64 images each.
Each part goes through the fused kernel on its own (`_parts`; laying them
side by side as channels for one kernel call cost four transposes a layer,
`benchmarks/README.md`); the moving averages take the mean over the parts
of their means and (plain) variances. Inference uses the moving averages, as
always, so an exported model does not depend on it.
"""

import keras
from keras import layers


@keras.saving.register_keras_serializable(package="keras_resnet_opt")
class FusedBatchNormalization(layers.BatchNormalization):
    """`keras.layers.BatchNormalization` that uses TensorFlow's fused kernel where it can.

    Args:
        groups: training statistics over this many equal parts of each batch
            (see the module docstring); 1, the default, is the whole batch.
        **kwargs: as `keras.layers.BatchNormalization`.
    """

    def __init__(self, groups=1, **kwargs):
        super().__init__(**kwargs)
        if int(groups) != groups or groups < 1:
            raise ValueError(f"`groups` must be a positive integer. Received: groups={groups!r}")
        if groups > 1 and self.synchronized:
            raise ValueError("Batch-norm `groups` > 1 and `synchronized` statistics across replicas do not combine.")
        self.groups = int(groups)

    def get_config(self):
        return {**super().get_config(), "groups": self.groups}

    def _can_fuse(self, inputs, mask):
        return (
            keras.backend.backend() == "tensorflow"
            and mask is None
            and not self.synchronized
            and not self.renorm
            and self.center
            and self.scale
            and len(inputs.shape) == 4
            and self.axis in (-1, 3)
        )

    def call(self, inputs, training=None, mask=None):
        if not self._can_fuse(inputs, mask):
            if self.groups > 1 and training and self.trainable:  # inference reads the moving averages alone
                raise NotImplementedError(
                    "Batch-norm `groups` > 1 needs the TensorFlow backend, channels-last 4-D inputs, no mask and no "
                    "renormalisation."
                )
            return super().call(inputs, training=training, mask=mask)
        import tensorflow as tf

        gamma = tf.cast(self.gamma, "float32")
        beta = tf.cast(self.beta, "float32")
        if not (training and self.trainable):
            outputs, _, _ = tf.compat.v1.nn.fused_batch_norm(
                inputs, gamma, beta, mean=tf.cast(self.moving_mean, "float32"),
                variance=tf.cast(self.moving_variance, "float32"), epsilon=self.epsilon, is_training=False)
            return tf.cast(outputs, self.compute_dtype)
        parts = self._parts(tf, inputs)
        normalised, means, variances = [], [], []
        for part in parts:
            outputs, mean, corrected = tf.compat.v1.nn.fused_batch_norm(
                part, gamma, beta, epsilon=self.epsilon, is_training=True)
            normalised.append(outputs)
            means.append(mean)
            count = tf.cast(tf.size(part) // tf.shape(part)[-1], "float32")
            # Back from Bessel-corrected to the plain variance Keras averages; a
            # single value per channel has variance 0 (the corrected one is inf).
            variances.append(tf.where(count > 1.0, corrected * (count - 1.0) / tf.maximum(count, 1.0), 0.0))
        if len(parts) == 1:
            outputs, mean, variance = normalised[0], means[0], variances[0]
        else:
            outputs = tf.concat(normalised, 0)
            mean, variance = tf.add_n(means) / len(parts), tf.add_n(variances) / len(parts)
        self.moving_mean.assign(self.moving_mean * self.momentum + mean * (1.0 - self.momentum))
        self.moving_variance.assign(self.moving_variance * self.momentum + variance * (1.0 - self.momentum))
        return tf.cast(outputs, self.compute_dtype)

    def _parts(self, tf, inputs):
        """The batch as ``groups`` equal consecutive parts (the whole batch alone when ``groups`` is 1).

        TensorFlow's split kernel shares the input's buffer along the first
        axis when the parts stay aligned (as a batch of images does), so the
        parts cost no copy; the one copy is the concatenation of their outputs.
        """
        if self.groups == 1:
            return [inputs]
        tf.debugging.assert_equal(
            tf.shape(inputs)[0] % self.groups, 0,
            message=f"Batch-norm groups: a batch must split into {self.groups} equal parts; pick a batch size (and "
            f"a training-set size) whose last batch does too.",
        )  # fmt: skip
        return tf.split(inputs, self.groups, axis=0)
