"""What does computing BatchNorm statistics over parts of each batch cost per step?

`--bn-groups 2` trains as He et al.'s two GPUs did (statistics over each half
of a batch of 128) on one device: each part goes through the fused
batch-norm kernel on its own and the outputs are joined again
(``keras_resnet_opt/models/batch_norm.py``). That is work a one-group model
does not do, so the He follow-up run (``results/campaign/plan-bn-groups.json``)
may take longer than the He run it is compared with. This script measures by
how much, as a ratio of training images/s of the same ResNet built with each
group count, in one process, with TensorFlow's thread count fixed as a
campaign job fixes it.

Each model is built and traced once, then the models train one epoch each
in turn, ``--repeats`` rounds, on the same random uint8 images through the
project's augmented input pipeline (``data.pipeline.train_dataset``) with
``model.fit`` and the registry's ``sgdm``. An epoch's rate is that of its
median step (batch end to batch end); the ratio is the median over the
rounds of each round's ratio, so background load, which comes and goes on a
shared machine, hits the models of a round alike. The warm-up epoch
(tracing) is not timed. Then the batch-norm layer alone is timed the same
way (``--layer-rounds``): a training-mode forward and backward pass at each
of ResNet-20's three stage shapes, the figure a change to the grouped layer
moves most clearly. Inference reads the moving averages alone,
so the per-epoch test evaluation a run does costs the same for every count;
a whole run's slowdown is therefore smaller than the ratio here.

    python benchmarks/bn_groups.py --groups 1,2 --threads 1 --images 1280 --repeats 8
"""

import argparse
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def compiled_model(model_name, groups):
    """``model_name`` with BatchNorm statistics over ``groups`` parts of each batch, compiled with ``sgdm``."""
    import keras

    from keras_resnet_opt.models import build_model
    from keras_resnet_opt.optimizers import make_optimizer

    keras.utils.set_random_seed(0)
    model = build_model(model_name, bn_groups=groups)
    model.compile(optimizer=make_optimizer("sgdm"), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def epoch_rate(model, x, y, batch_size, epoch):
    """Images/s of the median step of epoch ``epoch`` of ``model.fit`` on the project's augmented input pipeline.

    Steps are timed from one batch's end to the next, so the fixed cost of a
    ``fit`` call (its iterator, callbacks and final sync) is left out, and
    the median leaves out the steps a burst of background load slowed.
    """
    import keras

    from keras_resnet_opt.data.pipeline import steps_per_epoch, train_dataset

    ends = []

    class Clock(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            ends.append(time.perf_counter())

    batches = train_dataset(x, y, batch_size, seed=0, first_epoch=epoch, last_epoch=epoch + 1)
    model.fit(batches, steps_per_epoch=steps_per_epoch(len(x), batch_size), epochs=1, verbose=0, callbacks=[Clock()])
    return batch_size / statistics.median(b - a for a, b in zip(ends, ends[1:]))


# The shapes ResNet-20's batch-norm layers see, one per stage (per image).
STAGE_SHAPES = ((32, 32, 16), (16, 16, 32), (8, 8, 64))


def layer_milliseconds(groups, batch_size, rounds, calls=20):
    """Milliseconds of one training-mode forward and backward pass of the batch-norm layer alone, at each
    stage's shape in turn (summed), per group count: a list of ``rounds`` figures each, the counts alternating."""
    import tensorflow as tf

    from keras_resnet_opt.models.batch_norm import FusedBatchNormalization

    def compiled_pass(g, shape):
        layer = FusedBatchNormalization(groups=g)
        layer.build((batch_size, *shape))
        x = tf.random.stateless_normal((batch_size, *shape), seed=(0, 0))

        @tf.function
        def forward_backward():
            with tf.GradientTape() as tape:
                tape.watch(x)
                loss = tf.reduce_sum(tf.square(layer(x, training=True)))
            return tape.gradient(loss, [x, layer.gamma, layer.beta])

        forward_backward()  # tracing, not timed
        return forward_backward

    tf.get_logger().setLevel("ERROR")  # one trace per count and shape, by design; TF calls the sixth "retracing"
    passes = {g: [compiled_pass(g, shape) for shape in STAGE_SHAPES] for g in groups}
    times = {g: [] for g in groups}
    for _ in range(rounds):
        for g in groups:
            start = time.perf_counter()
            for one in passes[g]:
                for _ in range(calls):
                    one()
            times[g].append((time.perf_counter() - start) / calls * 1000)
    return times


def ratio_rows(values, groups, unit):
    """Markdown rows: each count's median, range, and the median over rounds of its ratio to the first count."""
    rows = []
    for g in groups:
        ratios = [v / v0 for v, v0 in zip(values[g], values[groups[0]])]
        rows.append(f"| {g} | {statistics.median(values[g]):.1f} {unit} ({min(values[g]):.1f}-{max(values[g]):.1f}) | "
                    f"{statistics.median(ratios):.3f}x ({min(ratios):.3f}-{max(ratios):.3f}) |")
    return rows


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="resnet20")
    p.add_argument("--groups", default="1,2", help="comma-separated group counts; the first is the reference")
    p.add_argument("--threads", type=int, default=1, help="TensorFlow intra- and inter-op threads (campaign jobs: 1)")
    p.add_argument("--images", type=int, default=1280, help="training images per epoch")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--repeats", type=int, default=8, help="timed epochs of each model, after one warm-up epoch")
    p.add_argument("--layer-rounds", type=int, default=30, help="rounds of the layer-alone timing (0: skip it)")
    p.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = p.parse_args(argv)
    groups = [int(g) for g in args.groups.split(",")]
    bad = [g for g in groups if g < 1 or args.batch_size % g]
    if bad:
        p.error(f"--groups {bad} do not split --batch-size {args.batch_size} into equal parts; pick divisors of it")

    import numpy as np

    from keras_resnet_opt.environment import cpu_model, onednn_enabled, set_threads, versions

    set_threads(args.threads)
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, size=(args.images, 32, 32, 3), dtype=np.uint8)
    y = rng.integers(0, 10, size=(args.images,), dtype=np.int32)

    models = {g: compiled_model(args.model, g) for g in groups}
    for g in groups:
        epoch_rate(models[g], x, y, args.batch_size, 0)  # tracing and warm-up, not timed
    rates = {g: [] for g in groups}
    for epoch in range(1, args.repeats + 1):
        for g in groups:
            rates[g].append(epoch_rate(models[g], x, y, args.batch_size, epoch))
    print(f"{args.model}, batch {args.batch_size}, {args.threads} thread(s), {args.images} images an epoch, "
          f"{args.repeats} timed epochs of each model, alternating")
    print(f"| BN groups | images/s of the median step (median over epochs; range) | vs groups={groups[0]}, median "
          "of the rounds' ratios |")
    print("|---:|---|---:|")
    print("\n".join(ratio_rows(rates, groups, "images/s")))
    layer = layer_milliseconds(groups, args.batch_size, args.layer_rounds) if args.layer_rounds else {}
    if layer:
        print(f"\nThe batch-norm layer alone, forward and backward in training mode, at each stage's shape "
              f"{STAGE_SHAPES} in turn, {args.layer_rounds} rounds")
        print(f"| BN groups | ms for the three shapes (median over rounds; range) | vs groups={groups[0]} |")
        print("|---:|---|---:|")
        print("\n".join(ratio_rows(layer, groups, "ms")))
    if args.json:
        record = {"args": vars(args), "cpu": cpu_model(), "onednn": onednn_enabled(), "versions": versions(),
                  "images_per_s": {str(g): rates[g] for g in groups},
                  "layer_ms": {str(g): v for g, v in layer.items()}}
        with open(args.json, "w") as f:
            json.dump(record, f, indent=2)


if __name__ == "__main__":
    main()
