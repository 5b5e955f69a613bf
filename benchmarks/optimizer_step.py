"""Per-step cost of the optimizers: Padam against Keras Adam(amsgrad=True),
and every registered optimizer against plain SGD.

Times one `optimizer.apply(grads, variables)` (the update alone: no forward or
backward pass) on the trainable variables of ResNet-20 (0.27M parameters) and
the Padam paper's ResNet-18 (11M), inside a `tf.function`, with XLA on and
off. Each repeat times `--steps` consecutive updates of every optimizer in
turn; times are medians over `--repeats` repeats, and ratios are medians of
per-repeat ratios (optimizers timed in the same round), which cancels most of
the load drift of a shared machine. Both wall-clock time and this process's
CPU time (all threads) are reported: on a machine shared with other jobs the
CPU time is the steadier measure of the work an update costs. The first two calls
(tracing, XLA compilation) are excluded. Gradients are fixed random tensors
passed as arguments.

Padam's target: at most 1.10x the time of Adam(amsgrad=True), which keeps the
same three slots. Results, with the command and machine, are in
benchmarks/README.md (section "Optimizer step").

    python benchmarks/optimizer_step.py [--model resnet20|resnet18|both]
        [--repeats N] [--steps K] [--jit on|off|both] [--pair-only]
        [--json PATH]
"""

import argparse
import datetime
import json
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

tf.get_logger().setLevel("ERROR")  # one traced update per optimizer is intended

from keras_resnet_opt.environment import cpu_model  # noqa: E402
from keras_resnet_opt.optimizers import Padam, list_optimizers, make_optimizer  # noqa: E402

# Updates per timed repeat: enough to amortise Python call overhead on the
# small model, few on ResNet-18, where one step is tens of milliseconds on CPU.
DEFAULT_STEPS = {"resnet20": 10, "resnet18": 2}
GRADIENT_SCALE = 1e-3  # typical gradient magnitude; values do not affect speed


def model_variables(model_name):
    """Trainable variables of the model, from keras_resnet_opt.models when it
    is importable, otherwise made here with the same shapes."""
    try:
        from keras_resnet_opt.models import build_model

        return list(build_model(model_name).trainable_variables), "models"
    except ImportError:
        return _synthetic_variables(model_name), "synthetic"


def _synthetic_variables(model_name):
    shapes = []

    def conv_bn(k, c_in, c_out):
        shapes.extend([(k, k, c_in, c_out), (c_out,), (c_out,)])

    if model_name == "resnet20":  # He et al.: 3 stages x 3 blocks, option A
        conv_bn(3, 3, 16)
        c_in = 16
        for width in (16, 32, 64):
            for _ in range(3):
                conv_bn(3, c_in, width)
                conv_bn(3, width, width)
                c_in = width
        shapes.extend([(64, 10), (10,)])
    else:  # Padam's ResNet-18: BasicBlocks [2,2,2,2], 1x1 projections
        conv_bn(3, 3, 64)
        c_in = 64
        for width in (64, 128, 256, 512):
            for _ in range(2):
                conv_bn(3, c_in, width)
                conv_bn(3, width, width)
                if c_in != width:
                    conv_bn(1, c_in, width)
                c_in = width
        shapes.extend([(512, 10), (10,)])
    rng = np.random.default_rng(0)
    return [
        keras.Variable(rng.normal(0, 0.05, s).astype("float32"), name=f"v{i}")
        for i, s in enumerate(shapes)
    ]


def compiled_update(optimizer, variables, grads, jit):
    """A traced (and, with jit, XLA-compiled) `optimizer.apply`, warmed up."""
    optimizer.build(variables)

    @tf.function(jit_compile=jit)
    def update(grads):
        optimizer.apply(grads, variables)

    for _ in range(2):  # trace, then (with XLA) compile: not timed
        update(grads)
    optimizer.iterations.numpy()
    return update, optimizer


def time_updates(updates, grads, repeats, steps):
    """Wall-clock and process-CPU seconds per update, per optimizer and repeat.

    Repeats are interleaved (every optimizer once per round, in a fixed
    order), so drift in machine load, common on a shared machine, biases no
    optimizer, and optimizers timed next to each other can be compared
    repeat by repeat. CPU time (all threads of this process) counts the work
    done and is far less disturbed than wall time when other processes
    compete for the cores.
    """
    wall = {label: [] for label in updates}
    cpu = {label: [] for label in updates}
    for _ in range(repeats):
        for label, (update, optimizer) in updates.items():
            start_wall, start_cpu = time.perf_counter(), time.process_time()
            for _ in range(steps):
                update(grads)
            optimizer.iterations.numpy()  # wait for the last update
            wall[label].append((time.perf_counter() - start_wall) / steps)
            cpu[label].append((time.process_time() - start_cpu) / steps)
    return wall, cpu


def paired_ratio(times, label, baseline):
    """Median over repeats of time[label] / time[baseline] in the same round."""
    return statistics.median(a / b for a, b in zip(times[label], times[baseline]))


ADAM = "Adam(amsgrad=True)"
SGD = "SGD (plain Keras)"


def candidates(pair_only=False):
    """(label, factory) pairs: the Padam/Adam pair, then (unless `pair_only`)
    every registered optimizer and plain Keras SGD as the baseline."""
    yield ADAM, lambda: keras.optimizers.Adam(0.001, epsilon=1e-8, amsgrad=True)
    yield "Padam()", lambda: Padam()
    yield "Padam(partial=1/16)", lambda: Padam(partial=1 / 16)
    # The same TF graph as Adam(amsgrad=True): its ratio to Adam shows how
    # much of a difference the machine's noise alone produces.
    yield "Padam(partial=1/2) [control]", lambda: Padam(
        partial=0.5, learning_rate=0.001
    )
    yield SGD, lambda: keras.optimizers.SGD(0.1)
    if pair_only:
        return
    for name in list_optimizers():
        yield f'make_optimizer("{name}")', lambda name=name: make_optimizer(name)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--model", choices=["resnet20", "resnet18", "both"], default="both"
    )
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument(
        "--steps", type=int, default=None, help="updates per repeat"
    )
    parser.add_argument("--jit", choices=["on", "off", "both"], default="both")
    parser.add_argument(
        "--pair-only",
        action="store_true",
        help="time only Adam(amsgrad=True), the Padam variants and SGD "
        "(quick; use many --repeats for a tight Padam/Adam ratio)",
    )
    parser.add_argument("--json", default=None, help="also write results here")
    args = parser.parse_args()

    models = ["resnet20", "resnet18"] if args.model == "both" else [args.model]
    jits = {"on": [True], "off": [False], "both": [False, True]}[args.jit]
    print(
        f"# {datetime.date.today()}  CPU: {cpu_model()}  cores: {os.cpu_count()}"
        f"  TF {tf.__version__}  Keras {keras.__version__}"
    )
    results = []
    for model_name in models:
        variables, origin = model_variables(model_name)
        n_params = sum(int(np.prod(v.shape)) for v in variables)
        rng = np.random.default_rng(1)
        grads = [
            tf.constant(
                rng.normal(0, GRADIENT_SCALE, v.shape).astype("float32")
            )
            for v in variables
        ]
        steps = args.steps or DEFAULT_STEPS[model_name]
        for jit in jits:
            print(
                f"\n## {model_name} ({n_params:,} parameters in "
                f"{len(variables)} variables, {origin}), "
                f"jit_compile={jit}, median of {args.repeats} x {steps} steps"
            )
            updates = {
                label: compiled_update(factory(), variables, grads, jit)
                for label, factory in candidates(args.pair_only)
            }
            wall, cpu = time_updates(updates, grads, args.repeats, steps)
            print(
                f"{'optimizer':<28} {'wall ms':>8} {'CPU ms':>8} "
                f"{'wall/SGD':>9} {'CPU/SGD':>8}"
            )
            for label in wall:
                print(
                    f"{label:<28} {1e3 * statistics.median(wall[label]):8.2f} "
                    f"{1e3 * statistics.median(cpu[label]):8.2f} "
                    f"{paired_ratio(wall, label, SGD):8.2f}x "
                    f"{paired_ratio(cpu, label, SGD):7.2f}x"
                )
            ratios = {
                f"{label} / {ADAM}": {
                    "wall": paired_ratio(wall, label, ADAM),
                    "cpu": paired_ratio(cpu, label, ADAM),
                }
                for label in (
                    "Padam()",
                    "Padam(partial=1/16)",
                    "Padam(partial=1/2) [control]",
                )
            }
            for name, ratio in ratios.items():
                print(
                    f"{name}: wall {ratio['wall']:.3f}, CPU {ratio['cpu']:.3f}"
                    + (" (target <= 1.10)" if name.startswith("Padam()") else "")
                )
            results.append(
                {
                    "model": model_name,
                    "parameters": n_params,
                    "jit_compile": jit,
                    "repeats": args.repeats,
                    "steps": steps,
                    "wall_seconds_per_step": wall,
                    "cpu_seconds_per_step": cpu,
                    "ratios_to_adam_amsgrad": ratios,
                }
            )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(
                {
                    "date": str(datetime.date.today()),
                    "cpu": cpu_model(),
                    "results": results,
                },
                f,
                indent=2,
            )


if __name__ == "__main__":
    main()
