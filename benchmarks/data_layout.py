"""Would channels-first (NCHW) training be faster than channels-last (NHWC) here?

The project's models are channels-last, TensorFlow's native layout on the CPU
and the layout cuDNN's tensor cores prefer under mixed precision. This checks
the lever issue 7 asks about without changing the models: the same ResNet-20
(3x3 convolutions, BatchNorm, option A zero-pad shortcuts, 0.27M parameters)
is built in both layouts here and trained with a bare ``model.fit`` on random
tensors, alternately ``--repeats`` times in one process, and the median
images/s compared as a ratio. The first epoch of each (tracing) is not timed.
Where TensorFlow's CPU kernels cannot train a layout at all (channels-first
without oneDNN, e.g. on an AVX2-only CPU unless ``TF_ENABLE_ONEDNN_OPTS=1``),
the output says so under ``unsupported`` and gives no ratio.

    python benchmarks/data_layout.py --images 1280 --epochs 3 --repeats 3
"""

import argparse
import json
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from fit_timing import fit_images_per_second  # noqa: E402  (beside this script)

LAYOUTS = ("channels_last", "channels_first")


def resnet20(data_format):
    import keras
    from keras import layers, ops

    channel_axis = 1 if data_format == "channels_first" else -1

    def conv_bn(x, filters, stride, relu):
        x = layers.Conv2D(filters, 3, stride, padding="same", use_bias=False, data_format=data_format)(x)
        x = layers.BatchNormalization(axis=channel_axis, momentum=0.9, epsilon=1e-5)(x)
        return layers.ReLU()(x) if relu else x

    class Shortcut(layers.Layer):
        """Option A: subsample by 2 and zero-pad the new channels, in either layout."""

        def __init__(self, filters, **kwargs):
            super().__init__(**kwargs)
            self.filters = filters

        def call(self, x):
            if data_format == "channels_first":
                x = x[:, :, ::2, ::2]
                extra = self.filters - x.shape[1]
                return ops.pad(x, [[0, 0], [extra // 2, extra - extra // 2], [0, 0], [0, 0]])
            x = x[:, ::2, ::2, :]
            extra = self.filters - x.shape[-1]
            return ops.pad(x, [[0, 0], [0, 0], [0, 0], [extra // 2, extra - extra // 2]])

    shape = (3, 32, 32) if data_format == "channels_first" else (32, 32, 3)
    inputs = keras.Input(shape)
    x = conv_bn(inputs, 16, 1, True)
    for filters in (16, 32, 64):
        for block in range(3):
            stride = 2 if filters != 16 and block == 0 else 1
            y = conv_bn(conv_bn(x, filters, stride, True), filters, 1, False)
            s = Shortcut(filters)(x) if stride == 2 else x
            x = layers.ReLU()(layers.Add()([y, s]))
    x = layers.GlobalAveragePooling2D(data_format=data_format)(x)
    return keras.Model(inputs, layers.Dense(10, activation="softmax")(x))


def rate(data_format, images, epochs, batch_size):
    import keras
    import numpy as np

    keras.utils.set_random_seed(0)
    model = resnet20(data_format)
    model.compile(optimizer=keras.optimizers.SGD(0.1, momentum=0.9), loss="sparse_categorical_crossentropy")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((images, *model.input_shape[1:]), dtype=np.float32)
    y = rng.integers(0, 10, images)
    return fit_images_per_second(model, x, y, epochs, batch_size)


def layout_errors():
    """The errors by which the Keras backend says its kernels cannot train a layout.

    TensorFlow's, which are the ones this benchmark has met; the backend is
    only imported when Keras runs on it, so the benchmark still runs on JAX
    or PyTorch without TensorFlow (where any error is a crash, not a finding).
    """
    import keras

    if keras.backend.backend() != "tensorflow":
        return ()
    import tensorflow as tf

    return (tf.errors.InvalidArgumentError, tf.errors.UnimplementedError)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--images", type=int, default=1280, help="training images per epoch")
    p.add_argument("--epochs", type=int, default=3, help="including one warm-up epoch")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args()
    if args.epochs < 2:
        p.error("--epochs must be at least 2: the first epoch (tracing) is not timed")

    from keras_resnet_opt import environment

    errors = layout_errors()
    runs = {layout: [] for layout in LAYOUTS}
    unsupported = {}
    for _ in range(args.repeats):
        for layout in LAYOUTS:
            if layout in unsupported:
                continue
            try:
                runs[layout].append(rate(layout, args.images, args.epochs, args.batch_size))
            except errors as e:
                # Without oneDNN, TensorFlow's CPU convolutions train channels-last only
                # ("Conv2DCustomBackpropFilterOp only supports NHWC"): a finding, not a crash.
                lines = [line.strip() for line in str(e).splitlines() if line.strip()]
                unsupported[layout] = [line for line in lines if not line.startswith("[[")][-1][:300]
    medians = {layout: statistics.median(values) if values else None for layout, values in runs.items()}
    first, last = medians["channels_first"], medians["channels_last"]
    print(json.dumps({
        "device": environment.device_description(),
        "onednn": environment.onednn_enabled(),
        "batch_size": args.batch_size,
        "images_per_s": {layout: None if v is None else round(v, 1) for layout, v in medians.items()},
        "runs": {layout: [round(v, 1) for v in values] for layout, values in runs.items()},
        "unsupported": unsupported,
        "ratio_first_over_last": round(first / last, 3) if first and last else None,
    }, indent=2))


if __name__ == "__main__":
    main()
