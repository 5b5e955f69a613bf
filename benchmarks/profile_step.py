"""Where a ResNet-20 training step spends its time: TensorFlow/Keras against PyTorch, op by op.

Both frameworks train the same ResNet-20 (option A shortcuts) on one fixed
random batch, so neither has a data feed, with one thread each (how the long
studies run: two one-thread processes side by side) so that op times add up
to the step time instead of overlapping. TensorFlow is traced with its
profiler (``tf.profiler.experimental``) and PyTorch with ``torch.profiler``;
each op's self time is put in one of a few categories (convolutions forward
and backward, batch norm, casts, optimizer update, ...), and whatever the
step's wall time holds beyond the ops is the framework's own overhead.

    python benchmarks/profile_step.py --precision mixed_bfloat16 --steps 20
    python benchmarks/profile_step.py --precision float32 --optimizer sgdm

``--optimizer keras-sgd`` (the default) is plain ``keras.optimizers.SGD(0.1,
momentum=0.9)`` as in ``throughput.py``'s bare path; ``sgdm`` is the registry's
(heavy-ball SGD with coupled weight decay, what the studies train with).
``--model-variant`` picks the project model's knobs being tried as levers.
"""

import argparse
import collections
import glob
import json
import os
import re
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from throughput import torch_resnet20  # noqa: E402  (beside this script)

CATEGORIES = (
    "conv forward", "conv backward (input)", "conv backward (filter)", "conv backward",
    "batch norm", "batch norm backward", "casts", "relu", "residual add / shortcut",
    "optimizer update", "loss, metrics, head", "other ops",
)

# TensorFlow: (category, regex on "op path:OpType"), first match wins.
_TF_RULES = (
    ("casts", r":Cast$"),
    ("optimizer update", r"/(sgd|heavy_ball\w*|coupled\w*|adam\w*|padam\w*|optimizer)/|AssignAddVariableOp$"),
    ("conv backward (input)", r"Conv2DBackpropInput"),
    ("conv backward (filter)", r"Conv2DBackpropFilter"),
    ("conv forward", r"Conv2D"),
    ("batch norm backward", r"gradient_tape/.*_bn\w*/|FusedBatchNormGrad"),
    ("batch norm", r"_bn\w*/|FusedBatchNorm"),
    ("relu", r"Relu"),
    ("residual add / shortcut", r"_add\w*/|shortcut|Pad|StridedSlice|AddN|AvgPool"),
    ("loss, metrics, head", r"loss|accuracy|metrics|dense|pool|Softmax|crossentropy"),
)

# PyTorch: (category, regex on the aten op name).
_TORCH_RULES = (
    ("casts", r"aten::(_to_copy|to|copy_|empty_strided)$"),
    ("conv backward", r"convolution_backward"),
    ("conv forward", r"conv|mkldnn_convolution"),
    ("batch norm backward", r"batch_norm_backward|native_batch_norm_backward"),
    ("batch norm", r"batch_norm"),
    ("relu", r"relu|clamp_min|threshold_backward"),
    ("residual add / shortcut", r"constant_pad_nd|pad|slice|aten::add_?$"),
    ("loss, metrics, head", r"cross_entropy|log_softmax|nll_loss|linear|addmm|mm|mean|adaptive_avg_pool|sum"),
)


def categorise(name, rules):
    for category, pattern in rules:
        if re.search(pattern, name):
            return category
    return "other ops"


def profile_tensorflow(precision, optimizer, batch_size, steps, warmup, threads, logdir, steps_per_execution=1):
    import numpy as np
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)
    import keras

    from keras_resnet_opt.models import build_model

    keras.mixed_precision.set_global_policy(precision)
    keras.utils.set_random_seed(0)
    model = build_model("resnet20")
    if optimizer == "keras-sgd":
        opt = keras.optimizers.SGD(0.1, momentum=0.9)
    else:
        from keras_resnet_opt.optimizers import make_optimizer

        opt = make_optimizer(optimizer)
    model.compile(optimizer=opt, loss="sparse_categorical_crossentropy", metrics=["accuracy"],
                  steps_per_execution=steps_per_execution)
    rng = np.random.default_rng(0)
    x = rng.random((batch_size, 32, 32, 3), dtype=np.float32)
    y = rng.integers(0, 10, batch_size)
    data = tf.data.Dataset.from_tensors((x, y)).repeat()
    # Whole executions only: round both counts up to multiples of steps_per_execution.
    warmup, steps = (-(-n // steps_per_execution) * steps_per_execution for n in (warmup, steps))
    model.fit(data, steps_per_epoch=warmup, epochs=1, verbose=0)
    start = time.perf_counter()
    model.fit(data, steps_per_epoch=steps, epochs=1, verbose=0)
    wall = (time.perf_counter() - start) / steps
    tf.profiler.experimental.start(logdir)
    model.fit(data, steps_per_epoch=steps, epochs=1, verbose=0)
    tf.profiler.experimental.stop()
    return wall, _tf_op_times(logdir, steps)


def _tf_op_times(logdir, steps):
    """Self time per op (ms per step) from the trace's host plane.

    TensorFlow's executor records one event per op run, named "path:OpType";
    function-call ops (which contain other ops) are left out so that nothing
    is counted twice.
    """
    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    path = sorted(glob.glob(os.path.join(logdir, "**", "*.xplane.pb"), recursive=True))[-1]
    space = xplane_pb2.XSpace()
    with open(path, "rb") as f:
        space.ParseFromString(f.read())
    times = collections.Counter()
    for plane in space.planes:
        if plane.name != "/host:CPU":
            continue
        for line in plane.lines:
            for event in line.events:
                name = plane.event_metadata[event.metadata_id].name
                if not _is_tf_op(name):
                    continue
                times[name] += event.duration_ps / 1e9 / steps
    return times


def _is_tf_op(name):
    """An op run ("path:OpType"), not a C++ scope ("Class::Method") or a function call."""
    if ":" not in name or "::" in name or name.startswith("EagerLocalExecute"):
        return False
    op_type = name.rsplit(":", 1)[1]
    return not (op_type.startswith("__inference") or op_type in ("StatefulPartitionedCall", "PartitionedCall",
                                                                    "While", "If", "Run", "Process"))


def profile_torch(precision, batch_size, steps, warmup, threads):
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(threads)
    net = torch_resnet20("cpu")
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    x = torch.randn(batch_size, 3, 32, 32)
    y = torch.randint(0, 10, (batch_size,))
    dtype = {"mixed_bfloat16": torch.bfloat16, "mixed_float16": torch.float16}.get(precision)

    def step():
        opt.zero_grad()
        with torch.autocast("cpu", dtype=dtype, enabled=dtype is not None):
            loss = F.cross_entropy(net(x), y)
        loss.backward()
        opt.step()

    for _ in range(warmup):
        step()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    wall = (time.perf_counter() - start) / steps
    times = collections.Counter()
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
        for _ in range(steps):
            step()
    # Self time of every aten op; the optimizer's own ops sit under
    # "Optimizer.step#SGD.step" and are counted there instead.
    events = prof.events()
    in_step = set()
    for event in events:
        if event.name.startswith("Optimizer.step"):
            times["optimizer update (torch)"] += event.cpu_time_total / 1e3 / steps
            in_step.update(id(child) for child in _descendants(event))
    for event in events:
        if event.name.startswith("aten::") and id(event) not in in_step:
            times[event.name] += event.self_cpu_time_total / 1e3 / steps
    return wall, times


def _descendants(event):
    for child in event.cpu_children:
        yield child
        yield from _descendants(child)


def breakdown(times, rules):
    table = collections.Counter()
    for name, ms in times.items():
        if name == "optimizer update (torch)":
            table["optimizer update"] += ms
        else:
            table[categorise(name, rules)] += ms
    return table


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--precision", default="mixed_bfloat16", choices=["float32", "mixed_bfloat16"],
                   help="Keras dtype policy; PyTorch runs the same under torch.autocast (default: %(default)s)")
    p.add_argument("--optimizer", default="keras-sgd",
                   help="keras-sgd (plain Keras SGD-momentum) or a registry name (default: %(default)s)")
    p.add_argument("--batch-size", type=int, default=128, help="(default: %(default)s)")
    p.add_argument("--steps", type=int, default=20, help="profiled and timed steps (default: %(default)s)")
    p.add_argument("--warmup", type=int, default=5, help="untimed steps first (default: %(default)s)")
    p.add_argument("--threads", type=int, default=1, help="threads per framework (default: %(default)s)")
    p.add_argument("--steps-per-execution", type=int, default=1,
                   help="Keras' steps_per_execution on the TensorFlow side (default: %(default)s)")
    p.add_argument("--no-torch", action="store_true", help="profile TensorFlow only")
    p.add_argument("--top", type=int, default=15, help="ops listed per framework (default: %(default)s)")
    p.add_argument("--json", help="also write the result here")
    p.add_argument("--list-other", action="store_true", help="list the ops no category matched")
    args = p.parse_args()

    with tempfile.TemporaryDirectory() as logdir:
        tf_wall, tf_ops = profile_tensorflow(args.precision, args.optimizer, args.batch_size, args.steps,
                                             args.warmup, args.threads, logdir, args.steps_per_execution)
    columns = {"TensorFlow/Keras": (tf_wall * 1e3, breakdown(tf_ops, _TF_RULES), tf_ops)}
    if not args.no_torch:
        torch_wall, torch_ops = profile_torch(args.precision, args.batch_size, args.steps, args.warmup, args.threads)
        columns["PyTorch"] = (torch_wall * 1e3, breakdown(torch_ops, _TORCH_RULES), torch_ops)

    print(f"ResNet-20, batch {args.batch_size}, {args.precision}, {args.threads} thread(s), "
          f"optimizer {args.optimizer} (Keras side), ms per step, {args.steps} profiled steps")
    names = list(columns)
    print("| category | " + " | ".join(names) + " |")
    print("|---|" + "---:|" * len(names))
    for category in CATEGORIES:
        cells = [columns[n][1].get(category, 0.0) for n in names]
        if any(c > 0.05 for c in cells):
            print(f"| {category} | " + " | ".join(f"{c:.1f}" for c in cells) + " |")
    op_sums = [sum(columns[n][1].values()) for n in names]
    print("| sum of op times | " + " | ".join(f"{s:.1f}" for s in op_sums) + " |")
    print("| step wall time (unprofiled) | " + " | ".join(f"{columns[n][0]:.1f}" for n in names) + " |")
    print("| framework overhead (wall - ops) | "
          + " | ".join(f"{columns[n][0] - s:.1f}" for n, s in zip(names, op_sums)) + " |")
    print("| images/s (unprofiled) | "
          + " | ".join(f"{args.batch_size / columns[n][0] * 1e3:.0f}" for n in names) + " |")
    for n in names:
        by_type = collections.Counter()
        for name, ms in columns[n][2].items():
            by_type[name.rsplit(":", 1)[-1] if ":" in name else name] += ms
        print(f"\n{n}: top op types, ms per step")
        for name, ms in by_type.most_common(args.top):
            print(f"  {ms:7.2f}  {name}")
    if args.list_other:
        for n in names:
            rules = _TF_RULES if n.startswith("TensorFlow") else _TORCH_RULES
            other = {k: v for k, v in columns[n][2].items() if categorise(k, rules) == "other ops"}
            print(f"\n{n}: uncategorised ops, ms per step")
            for name, ms in collections.Counter(other).most_common(args.top * 2):
                print(f"  {ms:7.2f}  {name}")
    if args.json:
        out = {n: {"wall_ms": w, "categories": dict(c), "ops": dict(o)} for n, (w, c, o) in columns.items()}
        out["args"] = vars(args)
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
