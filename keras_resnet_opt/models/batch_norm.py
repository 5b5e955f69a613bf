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
"""

import keras
from keras import layers


@keras.saving.register_keras_serializable(package="keras_resnet_opt")
class FusedBatchNormalization(layers.BatchNormalization):
    """`keras.layers.BatchNormalization` that uses TensorFlow's fused kernel where it can."""

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
            return super().call(inputs, training=training, mask=mask)
        import tensorflow as tf

        gamma = tf.cast(self.gamma, "float32")
        beta = tf.cast(self.beta, "float32")
        if not (training and self.trainable):
            outputs, _, _ = tf.compat.v1.nn.fused_batch_norm(
                inputs, gamma, beta, mean=tf.cast(self.moving_mean, "float32"),
                variance=tf.cast(self.moving_variance, "float32"), epsilon=self.epsilon, is_training=False)
            return tf.cast(outputs, self.compute_dtype)
        outputs, mean, corrected = tf.compat.v1.nn.fused_batch_norm(
            inputs, gamma, beta, epsilon=self.epsilon, is_training=True)
        count = tf.cast(tf.size(inputs) // tf.shape(inputs)[-1], "float32")
        # Back from Bessel-corrected to the plain variance Keras averages; a
        # single value per channel has variance 0 (the corrected one is inf).
        variance = tf.where(count > 1.0, corrected * (count - 1.0) / tf.maximum(count, 1.0), 0.0)
        self.moving_mean.assign(self.moving_mean * self.momentum + mean * (1.0 - self.momentum))
        self.moving_variance.assign(self.moving_variance * self.momentum + variance * (1.0 - self.momentum))
        return tf.cast(outputs, self.compute_dtype)
