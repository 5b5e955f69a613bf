"""Does the project's training path cost anything over plain Keras?

Images/s of the full path (``keras_resnet_opt.training.runner.train``: tf.data
pipeline with augmentation, the project's callbacks, per-epoch checkpoint and
history writing, the registry's ``sgdm`` with its coupled weight decay) against
a bare ``model.fit`` on in-memory tensors with the same model and batch and
plain ``keras.optimizers.SGD(0.1, momentum=0.9)`` (no decay, so the baseline is
if anything a little cheaper), in the same process, as a ratio (target on
the CPU: >= 0.95). The two are measured alternately ``--repeats`` times and
the medians compared, so background load hits both alike. The first epoch of
each (tracing and compilation) is excluded, and so is the test-set evaluation
the full path does after each epoch (it is extra work, not overhead; its time
is recorded per epoch as ``test_eval_time_s``).

    python benchmarks/throughput.py --models resnet20 --images 2560 --epochs 3 --repeats 3

With ``--torch`` (needs the optional ``bench`` extra: ``pip install torch==2.13.0``)
the same ResNet-20 in plain PyTorch is timed too, as a second reference.

With ``--bare-only`` only the bare ``model.fit`` (and PyTorch) are timed. That
is how the Keras backend lever is measured: ``KERAS_BACKEND=torch python
benchmarks/throughput.py --bare-only --torch`` times Keras on the PyTorch
backend against plain PyTorch in one process. The full path needs the
TensorFlow backend (tf.data, and the SavedModel export every run ends with).
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from fit_timing import fit_images_per_second  # noqa: E402  (beside this script)


def full_path_rate(model_name, data_dir, images, epochs, batch_size, precision, jit, workdir, tag):
    from keras_resnet_opt.config import make_config
    from keras_resnet_opt.training.runner import train

    config = make_config(
        "smoke", model=model_name, optimizer="sgdm", epochs=epochs, batch_size=batch_size, data_dir=data_dir,
        val_size=0, train_subset=images, lr_schedule="constant", precision=precision, jit_compile=jit, run_name=tag,
    )
    result = train(config, os.path.join(workdir, "runs"), os.path.join(workdir, "saved"))
    rows = result.history[1:]  # drop the warm-up epoch
    seconds = sum(r["epoch_time_s"] - r["test_eval_time_s"] for r in rows)
    return images * len(rows) / seconds


def bare_keras_rate(model_name, x, y, epochs, batch_size, precision, jit):
    import keras

    from keras_resnet_opt.models import build_model

    keras.mixed_precision.set_global_policy(precision)
    keras.utils.set_random_seed(0)
    model = build_model(model_name)
    model.compile(optimizer=keras.optimizers.SGD(0.1, momentum=0.9), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"], jit_compile=jit)
    return fit_images_per_second(model, x, y, epochs, batch_size)


def torch_resnet20(device="cpu"):
    """The project's ResNet-20 (option A shortcuts) in plain PyTorch, on ``device``.

    On a GPU it is channels-last, the layout its convolutions run fastest in.
    """
    import torch.nn.functional as F
    from torch import nn

    class Block(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.c1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.b1 = nn.BatchNorm2d(cout)
            self.c2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.b2 = nn.BatchNorm2d(cout)
            self.stride, self.pad = stride, cout - cin

        def forward(self, x):
            y = self.b2(self.c2(F.relu(self.b1(self.c1(x)))))
            s = x[:, :, :: self.stride, :: self.stride] if self.stride > 1 else x
            if self.pad:
                s = F.pad(s, (0, 0, 0, 0, self.pad // 2, self.pad - self.pad // 2))
            return F.relu(y + s)

    layers = [nn.Conv2d(3, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU()]
    cin = 16
    for width in (16, 32, 64):
        for i in range(3):
            layers.append(Block(cin, width, 2 if width != 16 and i == 0 else 1))
            cin = width
    net = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10))
    return net.to(device, memory_format=_torch_layout(device))


def _torch_layout(device):
    import torch

    return torch.channels_last if device != "cpu" else torch.contiguous_format


def torch_rate(images, batch_size, steps=None, device="cpu", precision="float32"):
    """Plain PyTorch ResNet-20 (`torch_resnet20`) training steps on random tensors.

    ``precision`` follows the Keras side: "mixed_bfloat16" / "mixed_float16"
    run the forward pass under ``torch.autocast`` in that format (weights and
    optimizer stay float32, as Keras' mixed policies keep them).
    """
    import contextlib

    import torch
    import torch.nn.functional as F

    net = torch_resnet20(device)
    layout = _torch_layout(device)
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    x = torch.randn(batch_size, 3, 32, 32, device=device).contiguous(memory_format=layout)
    y = torch.randint(0, 10, (batch_size,), device=device)
    steps = steps or max(images // batch_size, 5)
    dtypes = {"mixed_bfloat16": torch.bfloat16, "mixed_float16": torch.float16}
    device_type = torch.device(device).type

    def autocast():
        if precision in dtypes:
            return torch.autocast(device_type, dtype=dtypes[precision])
        return contextlib.nullcontext()

    def step():
        opt.zero_grad()
        with autocast():
            loss = F.cross_entropy(net(x), y)
        loss.backward()
        opt.step()

    def sync():
        if device_type == "cuda":
            torch.cuda.synchronize()

    for _ in range(3):
        step()
    sync()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    sync()
    return steps * batch_size / (time.perf_counter() - start)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models", default="resnet20")
    p.add_argument("--images", type=int, default=2560, help="training images per epoch")
    p.add_argument("--epochs", type=int, default=3, help="including one warm-up epoch")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--precision", default="float32")
    p.add_argument("--jit", action="store_true")
    p.add_argument("--torch", action="store_true", help="also time plain PyTorch (in --precision) as a reference")
    p.add_argument("--torch-device", default="cpu", help="device of the PyTorch reference, e.g. cuda")
    p.add_argument("--json", action="store_true")
    p.add_argument("--bare-only", action="store_true", help="skip the full path (e.g. under KERAS_BACKEND=torch)")
    args = p.parse_args()

    import keras
    import numpy as np

    from keras_resnet_opt import environment
    from keras_resnet_opt.data.synthetic import synthetic_arrays, write_synthetic_cifar10

    results = []
    with tempfile.TemporaryDirectory() as tmp:
        if not args.bare_only:
            per_batch = -(-args.images // 5)
            data_dir = write_synthetic_cifar10(
                os.path.join(tmp, "data"), "binary", train_per_batch=per_batch, test_size=200
            )
        x, y = synthetic_arrays(args.images)
        x = x.astype(np.float32)
        for model_name in args.models.split(","):
            full, bare = [], []
            for r in range(args.repeats):
                bare.append(bare_keras_rate(model_name, x, y, args.epochs, args.batch_size, args.precision, args.jit))
                if not args.bare_only:
                    full.append(full_path_rate(model_name, str(data_dir), args.images, args.epochs, args.batch_size,
                                               args.precision, args.jit, tmp, f"{model_name}-{r}"))
            row = {
                "model": model_name,
                "bare_keras_images_per_s": round(statistics.median(bare), 1),
                "bare_runs": [round(v, 1) for v in bare],
            }
            if full:
                row["full_path_images_per_s"] = round(statistics.median(full), 1)
                row["ratio_full_over_bare"] = round(statistics.median(full) / statistics.median(bare), 3)
                row["full_runs"] = [round(v, 1) for v in full]
            if args.torch and model_name == "resnet20":
                rates = [torch_rate(args.images, args.batch_size, device=args.torch_device, precision=args.precision)
                         for _ in range(args.repeats)]
                row["torch_images_per_s"] = round(statistics.median(rates), 1)
                row["torch_device"] = args.torch_device
            results.append(row)
    summary = {"keras_backend": keras.backend.backend(), "precision": args.precision, "jit": args.jit,
               "batch_size": args.batch_size,
               "device": environment.device_description(), "results": results}
    print(json.dumps(summary, indent=None if args.json else 2))


if __name__ == "__main__":
    main()
