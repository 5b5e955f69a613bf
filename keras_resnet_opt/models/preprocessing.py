"""Per-channel normalisation that lives inside the model.

Putting it in the graph means an exported SavedModel takes raw pixel values
(0..255) and nobody serving the model has to know the training statistics.
"""

import keras

from keras_resnet_opt.data.constants import CHANNEL_MEAN, CHANNEL_STD


def normalization_layer(name="normalize"):
    """A Keras layer mapping pixels in [0, 255] to per-channel standard scores.

    Uses the statistics of the Padam reference scripts (see
    ``keras_resnet_opt.data.constants``), expressed on the 0..255 scale.
    """
    mean = [255.0 * m for m in CHANNEL_MEAN]
    variance = [(255.0 * s) ** 2 for s in CHANNEL_STD]
    return keras.layers.Normalization(mean=mean, variance=variance, name=name)
