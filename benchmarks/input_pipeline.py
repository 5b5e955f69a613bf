"""Is the input pipeline ever the bottleneck? Images/s of the augmented tf.data
training pipeline alone against the training-step rate of ResNet-20 at batch
128, measured in the same process, as a ratio (target: >= 10x). Also the first
load of a CIFAR-10 copy (decode + cache), the cached reload, and peak memory.

    python benchmarks/input_pipeline.py --data-dir ../shared/datasets/cifar10

Without --data-dir (or $KERAS_RESNET_OPT_DATA_DIR) it uses 50,000 synthetic
images in the binary layout, so it runs anywhere. Timings exclude the first
(tracing) pass and say so.
"""

import argparse
import json
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data-dir", default=os.environ.get("KERAS_RESNET_OPT_DATA_DIR"))
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--train-steps", type=int, default=30, help="timed ResNet-20 steps")
    p.add_argument("--json", action="store_true")
    args = p.parse_args()

    import keras
    import numpy as np

    from keras_resnet_opt import environment
    from keras_resnet_opt.data import load_cifar10
    from keras_resnet_opt.data.pipeline import train_dataset
    from keras_resnet_opt.data.synthetic import write_synthetic_cifar10
    from keras_resnet_opt.models import build_model

    with tempfile.TemporaryDirectory() as tmp:
        data_dir = args.data_dir or write_synthetic_cifar10(os.path.join(tmp, "synthetic"), "binary", 10_000, 10_000)
        cache = os.path.join(tmp, "cache")
        start = time.perf_counter()
        load_cifar10(data_dir, cache_dir=cache)
        first_load = time.perf_counter() - start
        start = time.perf_counter()
        data = load_cifar10(data_dir, cache_dir=cache)
        cached_load = time.perf_counter() - start
    x, y = data.train

    # Pipeline alone: two full epochs after one warm-up batch.
    ds = train_dataset(x, y, args.batch_size, seed=0, first_epoch=0, last_epoch=3)
    it = iter(ds)
    next(it)
    n, start = 0, time.perf_counter()
    for images, _ in it:
        n += int(images.shape[0])
    pipeline_rate = n / (time.perf_counter() - start)

    # ResNet-20 training steps on in-memory tensors (no pipeline), after warm-up.
    keras.utils.set_random_seed(0)
    model = build_model("resnet20")
    model.compile(optimizer=keras.optimizers.SGD(0.1, momentum=0.9), loss="sparse_categorical_crossentropy")
    bs = args.batch_size
    xb = x[: bs * args.train_steps].astype(np.float32)
    yb = y[: bs * args.train_steps]
    model.fit(xb[: bs * 3], yb[: bs * 3], batch_size=bs, epochs=1, verbose=0)
    start = time.perf_counter()
    model.fit(xb, yb, batch_size=bs, epochs=1, verbose=0, shuffle=False)
    train_rate = len(xb) / (time.perf_counter() - start)

    result = {
        "data_source": data.source,
        "pipeline_images_per_s": round(pipeline_rate),
        "resnet20_train_images_per_s": round(train_rate, 1),
        "pipeline_over_training": round(pipeline_rate / train_rate, 1),
        "first_load_s": round(first_load, 2),
        "cached_load_s": round(cached_load, 2),
        "peak_memory_mib": round(environment.peak_memory_mib()),
        "device": environment.device_description(),
    }
    if args.json:
        print(json.dumps(result))
    else:
        for k, v in result.items():
            print(f"{k:30s} {v}")


if __name__ == "__main__":
    main()
