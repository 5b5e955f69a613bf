"""Campaign throughput: one run with 2 threads, or two runs with 1 thread each?

A study is a campaign of many independent training runs, so what matters on a
small CPU machine is the total images/s of all runs at once, not the speed of
one. This script compares, for ResNet-20 on the project's path (``build_model``,
the registry's ``sgdm``, ``model.fit`` on ``data.pipeline.train_dataset``):

- K=1: one process with 2 TensorFlow threads (intra- and inter-op);
- K=2: two concurrent processes with 1 thread each,

each in every ``--precisions`` policy. Each run is a subprocess of this script
(``--worker``) that trains on random uint8 images for ``--epochs`` epochs and
prints one JSON line with the wall-clock end time of every batch after the
first epoch (tracing and warm-up are excluded). The K processes start
together and do the same number of steps; a process's rate is the images of
the batches it finished inside the window where all K were past warm-up and
still training, divided by that window, and the campaign figure is the sum.
Configurations alternate repeat by repeat (so background load hits all alike)
and medians are reported.

    python benchmarks/campaign_throughput.py --images 1280 --epochs 3 --repeats 2 --json campaign.json
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

CONFIGS = [(1, 2), (2, 1)]  # (processes, threads each) on the 2-core machine


def worker(args):
    """One training run; prints {"batch_ends": [...], "batch_size": ..}."""
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    import keras
    import numpy as np

    from keras_resnet_opt.data.pipeline import steps_per_epoch, train_dataset
    from keras_resnet_opt.models import build_model
    from keras_resnet_opt.optimizers import make_optimizer

    rng = np.random.default_rng(args.seed)
    x = rng.integers(0, 256, (args.images, 32, 32, 3), dtype=np.uint8)
    y = rng.integers(0, 10, args.images).astype(np.int32)
    keras.mixed_precision.set_global_policy(args.precision)
    keras.utils.set_random_seed(args.seed)
    model = build_model(args.model)
    model.compile(optimizer=make_optimizer("sgdm"), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    batch_ends = []

    class Clock(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if self.epoch > 0:  # the first epoch traces and warms up
                batch_ends.append(time.time())

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch
            if epoch == 1:
                batch_ends.append(time.time())  # start of the timed region

    data = train_dataset(x, y, args.batch_size, args.seed, 0, args.epochs)
    model.fit(data, epochs=args.epochs, steps_per_epoch=steps_per_epoch(args.images, args.batch_size),
              verbose=0, callbacks=[Clock()])
    print(json.dumps({"batch_ends": batch_ends, "batch_size": args.batch_size, "images": args.images}))


def campaign(args, processes, threads, precision):
    """Start ``processes`` workers together; return per-process images/s over their overlap."""
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", "--threads", str(threads), "--precision", precision,
           "--model", args.model, "--images", str(args.images), "--epochs", str(args.epochs),
           "--batch-size", str(args.batch_size)]
    procs = [subprocess.Popen(cmd + ["--seed", str(i)], stdout=subprocess.PIPE, text=True) for i in range(processes)]
    runs = []
    for p in procs:
        out, _ = p.communicate()
        if p.returncode:
            raise SystemExit(f"worker failed ({p.returncode}): {' '.join(cmd)}")
        runs.append(json.loads(out.strip().splitlines()[-1]))
    start = max(r["batch_ends"][0] for r in runs)
    end = min(r["batch_ends"][-1] for r in runs)
    # Batch size x batches finished in the window (a last partial batch of an epoch counts as full: same for all).
    counts = [sum(start < t <= end for t in r["batch_ends"][1:]) for r in runs]
    if min(counts) == 0:  # tiny settings: no common window, so each over its own timed region (flagged)
        print("warning: the runs' timed regions hardly overlap; rates are each over its own region", file=sys.stderr)
        rates = [
            r["batch_size"] * (len(r["batch_ends"]) - 1) / (r["batch_ends"][-1] - r["batch_ends"][0]) for r in runs
        ]
        return {"per_process": rates, "total": sum(rates), "overlap_s": 0.0}
    rates = [r["batch_size"] * n / (end - start) for r, n in zip(runs, counts)]
    return {"per_process": rates, "total": sum(rates), "overlap_s": end - start}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--worker", action="store_true", help="internal: one training run, one JSON line")
    parser.add_argument("--threads", type=int, default=2, help="worker: TensorFlow intra/inter-op threads")
    parser.add_argument("--precision", default="float32", help="worker: Keras dtype policy")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--model", default="resnet20")
    parser.add_argument("--images", type=int, default=2560, help="random training images per epoch")
    parser.add_argument("--epochs", type=int, default=4, help="including the first (warm-up) epoch")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--precisions", default="float32,mixed_bfloat16")
    parser.add_argument("--json", metavar="PATH", help="also write the results here")
    args = parser.parse_args()
    if args.worker:
        return worker(args)
    if args.epochs < 2:
        parser.error("--epochs must be at least 2 (the first is warm-up)")

    precisions = args.precisions.split(",")
    results = {(k, t, p): [] for p in precisions for k, t in CONFIGS}
    for repeat in range(args.repeats):
        for key in results:
            r = campaign(args, *key)
            results[key].append(r)
            print(f"repeat {repeat}: {key[0]} x {key[1]} thread(s), {key[2]}: total {r['total']:.1f} images/s "
                  f"({', '.join(f'{v:.1f}' for v in r['per_process'])}; overlap {r['overlap_s']:.1f} s)", flush=True)

    rows = []
    for (k, t, p), runs in results.items():
        rows.append({
            "processes": k, "threads_each": t, "precision": p,
            "total_images_per_s": statistics.median(r["total"] for r in runs),
            "per_process_images_per_s": statistics.median(v for r in runs for v in r["per_process"]),
            "totals": [r["total"] for r in runs],
        })
    print(f"\n{args.model}, batch {args.batch_size}, {args.images} images x {args.epochs} epochs (first excluded), "
          f"{args.repeats} repeat(s), medians\n")
    print("| configuration | precision | total images/s (repeats) | per process | vs 1 x 2 threads |")
    print("|---|---|---:|---:|---:|")
    for row in rows:
        base = next(r for r in rows if r["precision"] == row["precision"] and r["processes"] == 1)
        print(f"| {row['processes']} run(s) x {row['threads_each']} thread(s) | {row['precision']} | "
              f"{row['total_images_per_s']:.1f} ({', '.join(f'{v:.0f}' for v in row['totals'])}) | "
              f"{row['per_process_images_per_s']:.1f} | "
              f"{row['total_images_per_s'] / base['total_images_per_s']:.2f}x |")
    summary = {"model": args.model, "images": args.images, "epochs": args.epochs, "batch_size": args.batch_size,
               "repeats": args.repeats, "results": rows}
    if args.json:
        with open(args.json, "w") as f:
            json.dump(summary, f, indent=2)
    print("\n" + json.dumps(summary))


if __name__ == "__main__":
    main()
