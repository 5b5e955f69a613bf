"""Per-batch train loss around a step decay, for the two forms of SGD-momentum.

Why this exists: in the first cpu-quick study the sgd/sgdm train loss went *up*
in the epoch after the lr decay. The cause was Keras' form of momentum (its
velocity holds lr-scaled steps, so it coasts at the old rate for ~10 steps
after a decay; see `keras_resnet_opt.optimizers.heavy_ball`). This check trains
the same run (same data, order, augmentation and initial weights, prepared by
`training.prepare.prepare_run` as a training run is) three ways and logs every
batch's loss:

- ``heavy-ball``: the registry's ``sgdm`` (velocity of raw gradients, as the
  reference scripts' PyTorch SGD), step decay;
- ``keras``: Keras' ``SGD(momentum=0.9)`` with the same coupled decay and the
  same schedule;
- ``heavy-ball-constant``: ``sgdm`` without the decay, as the control.

The runs start from the same state and see the same batches (same seed,
deterministic ops). Before the decay the two momentum forms are the same
update and differ only in float rounding, which 160 noisy steps amplify a
little (``before_decay`` in the summary); the jump after the decay is far
larger than that drift.
"""

import dataclasses
import json
from pathlib import Path

import keras
import pandas as pd
from matplotlib.figure import Figure

from keras_resnet_opt.atomic import atomic_path, write_json
from keras_resnet_opt.config import make_config
from keras_resnet_opt.data.pipeline import train_dataset
from keras_resnet_opt.optimizers import CoupledSGD
from keras_resnet_opt.training.prepare import LOSS, prepare_run

VARIANTS = ("heavy-ball", "keras", "heavy-ball-constant")


def batch_losses_callback(rows, variant, batch_sizes):
    """A Keras callback appending one row per batch to ``rows``: its step, the
    learning rate it trained at, its size and its own loss.

    Keras reports ``logs["loss"]`` as the running mean over the epoch so far,
    weighted by batch size; with ``seen_b`` images after batch b, batch b's own
    loss is ``(seen_b * mean_b - seen_(b-1) * mean_(b-1)) / size_b``.
    ``batch_sizes`` lists one epoch's batch sizes (the last may be short).
    """

    class BatchLosses(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.epoch, self.previous, self.seen = epoch + 1, 0.0, 0

        def on_train_batch_begin(self, batch, logs=None):
            # Read before the step: the rate this batch is trained at.
            self.rate = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))

        def on_train_batch_end(self, batch, logs=None):
            mean, size = float(logs["loss"]), batch_sizes[batch]
            rows.append({
                "variant": variant, "epoch": self.epoch, "batch": batch,
                "step": int(keras.ops.convert_to_numpy(self.model.optimizer.iterations)),
                "learning_rate": self.rate, "batch_size": size,
                "loss": ((self.seen + size) * mean - self.seen * self.previous) / size,
            })
            self.previous, self.seen = mean, self.seen + size

    return BatchLosses()


def run_variant(variant, data_dir, epochs, seed=0, preset="cpu-quick"):
    """Train ``preset``'s sgdm run for ``epochs`` as ``variant``; returns the per-batch rows."""
    if variant not in VARIANTS:
        raise ValueError(f"Unknown variant {variant!r}. Valid variants: {', '.join(VARIANTS)}")
    config = make_config(
        preset, optimizer="sgdm", data_dir=data_dir, epochs=epochs, seed=seed, deterministic=True,
        lr_schedule="constant" if variant == "heavy-ball-constant" else "step",
    )
    if config.lr_schedule == "step" and not any(b < epochs for b in config.lr_boundaries):
        raise ValueError(
            f"--epochs {epochs} ends before the first decay (epoch {min(config.lr_boundaries)}); use more."
        )
    run = prepare_run(config, metrics=())
    model, steps = run.model, run.steps
    x, y = run.data.train
    if variant == "keras":  # Keras' SGD with the same settings, schedule and coupled decay
        model.compile(optimizer=CoupledSGD.from_config(model.optimizer.get_config()), loss=LOSS,
                      jit_compile=config.jit_compile)
    rows = []
    sizes = [min(config.batch_size, len(x) - i * config.batch_size) for i in range(steps)]
    model.fit(
        train_dataset(x, y, config.batch_size, config.seed, 0, config.epochs), epochs=config.epochs,
        steps_per_epoch=steps, shuffle=False, verbose=0, callbacks=[batch_losses_callback(rows, variant, sizes)],
    )
    return rows


@dataclasses.dataclass
class Summary:
    decay_step: int  # the first step taken at the decayed rate
    window: int  # steps after the decay summarised
    mean_loss: dict  # variant -> mean per-batch loss over [decay_step, decay_step + window)
    max_loss: dict  # variant -> its maximum there
    before_decay: dict  # variant -> mean over the `window` steps before the decay
    epoch_mean_loss: dict  # variant -> {epoch: mean train loss over the epoch's images}


def summarize(rows, window=15):
    frame = pd.DataFrame(rows)
    step_rows = frame[frame.variant != "heavy-ball-constant"]
    first_rate = step_rows.learning_rate.iloc[0]
    decay_step = int(step_rows[step_rows.learning_rate < first_rate].step.min())
    after = frame[(frame.step >= decay_step) & (frame.step < decay_step + window)]
    before = frame[(frame.step >= decay_step - window) & (frame.step < decay_step)]
    weighted = frame.assign(total=frame.loss * frame.batch_size).groupby(["variant", "epoch"])
    by_epoch = weighted.total.sum() / weighted.batch_size.sum()  # as Keras averages an epoch
    return Summary(
        decay_step=decay_step,
        window=window,
        mean_loss={k: round(float(v), 4) for k, v in after.groupby("variant").loss.mean().items()},
        max_loss={k: round(float(v), 4) for k, v in after.groupby("variant").loss.max().items()},
        before_decay={k: round(float(v), 4) for k, v in before.groupby("variant").loss.mean().items()},
        epoch_mean_loss={
            variant: {int(e): round(float(v), 4) for (var, e), v in by_epoch.items() if var == variant}
            for variant in frame.variant.unique()
        },
    )


def write_outputs(rows, output_dir, window=15):
    """``summary.json`` and ``loss_around_decay.png`` in ``output_dir``, written
    atomically (the per-batch rows are in ``batches-<variant>.csv``)."""
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    frame = pd.DataFrame(rows)
    summary = summarize(rows, window)
    write_json(output_dir / "summary.json", dataclasses.asdict(summary))
    fig = Figure(figsize=(8, 4))
    ax = fig.add_subplot()
    for variant, group in frame.groupby("variant"):
        ax.plot(group.step, group.loss.rolling(3, min_periods=1).mean(), label=variant, linewidth=1)
    ax.axvline(summary.decay_step, color="grey", linestyle="--", linewidth=0.8, label="lr / 10")
    ax.set_xlabel("step")
    ax.set_ylabel("train loss per batch (rolling mean of 3)")
    ax.set_title("SGD-momentum 0.9: train loss per batch around the lr decay")
    ax.legend()
    fig.tight_layout()
    with atomic_path(output_dir / "loss_around_decay.png") as tmp:
        fig.savefig(tmp, format="png", dpi=120)
    return summary


def run_check(data_dir, output_dir, epochs=5, seed=0, preset="cpu-quick", variants=VARIANTS, log=print):
    """Every variant (skipping those already in ``output_dir``, so an interrupted
    check resumes), then the combined outputs; returns the `Summary`."""
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    params = {"preset": preset, "epochs": epochs, "seed": seed, "data_dir": data_dir}
    params_path = output_dir / "params.json"
    if params_path.is_file() and json.loads(params_path.read_text()) != params:
        raise ValueError(
            f"{str(output_dir)!r} holds a check made with {json.loads(params_path.read_text())}, not {params}. "
            "Rerun with those settings to resume it, or choose another --output-dir."
        )
    write_json(params_path, params)
    rows = []
    for variant in variants:
        path = output_dir / f"batches-{variant}.csv"
        if path.is_file():
            log(f"skip (done): {variant}")
        else:
            log(f"train: {variant}")
            with atomic_path(path) as tmp:
                pd.DataFrame(run_variant(variant, data_dir, epochs, seed, preset)).to_csv(tmp, index=False)
        rows += pd.read_csv(path).to_dict("records")
    return write_outputs(rows, output_dir)
