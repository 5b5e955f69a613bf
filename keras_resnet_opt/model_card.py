"""The model card of an exported SavedModel: what it is, how it was trained, how to check it with TensorFlow alone.

A committed export (``saved_models/he2016-resnet20-sgdm-s0/``) has to be
checkable by someone who has only that folder: the card says the data, the
recipe, the final test error the run measured, the command, code commit,
hardware and versions, and how to load and evaluate the model without this
project. Every fact comes from the run's own ``manifest.json`` and
``config.json`` (none is typed in), and, when given, from an evaluation of
the SavedModel itself (``scripts/evaluate.py --json``), so the card shows the
export reproducing the run's number rather than asserting it.
"""

import json
import math
from pathlib import Path

from keras_resnet_opt.atomic import write_text
from keras_resnet_opt.training.run_folder import MANIFEST, epochs_seconds, manifest_steps_per_epoch, read_history

CARD = "README.md"
# What the training pipeline's augmentation does (keras_resnet_opt.data.pipeline), in words.
AUGMENTATION = "4-pixel zero pad, random 32x32 crop, random horizontal flip"
# Where the card's evaluate command finds the data: the shared copy, seen from the checkout's root
# (where the committed results' commands are run), so the command runs as printed.
SHARED_DATA_DIR = "../shared/datasets/cifar10"


def _pct(value):
    return "n/a" if value is None or not math.isfinite(float(value)) else f"{100.0 * float(value):.2f}%"


def _schedule(config, steps):
    if config.get("lr_schedule") != "step" or not config.get("lr_boundaries"):
        return str(config.get("lr_schedule"))
    points = ", ".join(f"epoch {b:g} (iteration {round(b * steps)})" for b in config["lr_boundaries"])
    return f"x{config.get('lr_decay_factor', 0.1):g} at {points}"


def _optimizer_text(manifest):
    summary = manifest.get("optimizer_config") or {}
    parts = [str(summary.get("class") or manifest["config"].get("optimizer"))]
    for key in ("momentum", "nesterov", "beta_1", "beta_2", "epsilon", "amsgrad", "partial"):
        if summary.get(key) not in (None, False):
            parts.append(f"{key} {summary[key]}")
    coupled = summary.get("coupled_weight_decay")
    if coupled:
        scope = summary.get("decay_variables", "all")
        parts.append(f"coupled L2 weight decay {coupled:g} (added to the gradient; variables: {scope})")
    elif summary.get("weight_decay"):
        parts.append(f"decoupled weight decay {summary['weight_decay']:g}")
    return ", ".join(parts)


def _time_line(run_dir, manifest):
    """How long training took, for a run trained in one session or resumed over several.

    A resumed run's manifest times only the session that finished it, so its
    ``wall_time_s`` alone would understate a run trained over several; the
    history's epoch times cover every session (epochs only).
    """
    session = manifest.get("wall_time_s", 0) / 3600
    resumed = manifest.get("resumed_from_epoch") or 0
    if not resumed:
        return f"- Wall time {session:.1f} h in one session (start-up, training, evaluation and export)"
    last = f"the last session, resumed from epoch {resumed}, took {session:.1f} h from start to export"
    rows = read_history(run_dir)
    seconds = epochs_seconds(rows)
    if seconds is None:
        return f"- Wall time: {last}; the history does not time every epoch, so the whole is not known"
    return (
        f"- Training time {seconds / 3600:.1f} h over every session, the sum of its {len(rows)} epochs' wall "
        f"times (epochs only; {last})"
    )


def render_card(run_dir, export_name, evaluation=None, published=None, trained_on=None):
    """The card's Markdown text.

    Args:
        run_dir: the finished run folder (``manifest.json``).
        export_name: the export's path as users will type it
            (``saved_models/<run>``).
        evaluation: the SavedModel's own evaluation (``scripts/evaluate.py
            --json``: ``accuracy``, ``num_examples``), or None.
        published: ``(test error %, source)`` to set the result beside, or None.
        trained_on: the date training finished (``YYYY-MM-DD``), or None.

    Raises:
        ValueError: the run has not finished (no manifest).
    """
    run_dir = Path(run_dir)
    if not (run_dir / MANIFEST).is_file():
        raise ValueError(f"{str(run_dir)!r} holds no finished run (no manifest.json); finish or resume it first.")
    manifest = json.loads((run_dir / MANIFEST).read_text())
    config, final, data = manifest["config"], manifest["final"], manifest["data"]
    steps = manifest_steps_per_epoch(manifest)
    code = manifest.get("code") or {}
    versions = manifest.get("versions") or {}
    evaluate_command = f"python scripts/evaluate.py {export_name} --data-dir {SHARED_DATA_DIR}"
    lines = [
        f"# {run_dir.name}",
        "",
        f"{config['model']} trained on CIFAR-10 with the `{config['preset']}` recipe and the `{config['optimizer']}` "
        f"optimizer, seed {config['seed']}, by keras-resnet-opt's own training path (`model.fit`).",
        "",
        "## Result",
        "",
        f"- Final test error, measured by the run at its last epoch ({final['epoch']}) on the "
        f"{data['test_images']:,} test images: **{_pct(final['test_error'])}** (final train loss "
        f"{final['train_loss']:.4f} on augmented batches).",
    ]
    if evaluation is not None:
        error = 1.0 - float(evaluation["accuracy"])
        source = evaluation.get("data_source")
        lines.append(
            f"- The same, evaluated from this SavedModel alone (`{evaluate_command}`) on "
            f"`{source or 'a test set it did not name'}`: **{_pct(error)}** on {int(evaluation['num_examples']):,} "
            f"images (difference {100.0 * (error - final['test_error']):+.2f} pp)."
        )
        if source != data["source"]:
            lines.append(
                f"- **Not the same test copy**: the run tested on `{data['source']}`, so the difference above "
                "compares two data sets, not the export with the run."
            )
    if published is not None:
        lines.append(f"- Published: {published[0]:g}% ({published[1]}).")
    lines += [
        "",
        "## Load and evaluate it with TensorFlow alone",
        "",
        "The `serve` endpoint takes raw uint8 RGB images `[N, 32, 32, 3]` (the normalisation is inside the model) "
        "and returns the ten class probabilities, in CIFAR-10's label order (airplane, automobile, bird, cat, deer, "
        "dog, frog, horse, ship, truck).",
        "",
        "```python",
        "import numpy as np",
        "import tensorflow as tf",
        "",
        f'model = tf.saved_model.load("{export_name}")',
        "# images: uint8 [N, 32, 32, 3]; labels: int [N]",
        "batches = (images[i:i + 1000] for i in range(0, len(images), 1000))",
        "probabilities = np.concatenate([model.serve(batch).numpy() for batch in batches])",
        'print("test error:", np.mean(probabilities.argmax(axis=1) != labels))',
        "```",
        "",
        f"With this project: `{evaluate_command}`.",
        "",
        "## Data",
        "",
        f"- Source: `{data['source']}` (checksum `{data.get('checksum')}`).",
        f"- Trained on {data['train_images']:,} training images ({data.get('val_images', 0):,} held out for "
        f"validation), tested on {data['test_images']:,}.",
    ]
    if "image-folder" in str(data["source"]):
        lines.append(
            "- The shared copy is a JPEG re-encoding of CIFAR-10 (quality 75), not the official binary release: "
            "accuracies on it can sit below those on the original images."
        )
    lines += [
        "",
        "## Recipe",
        "",
        f"- Model: {config['model']}; batch {config['batch_size']}; {config['epochs']} epochs = "
        f"{config['epochs'] * steps:,} iterations of {steps} steps.",
        f"- Optimizer: {_optimizer_text(manifest)}.",
        f"- Learning rate {manifest.get('initial_learning_rate', config.get('learning_rate'))}, "
        f"{_schedule(config, steps)}.",
        f"- Augmentation: {AUGMENTATION if config.get('augment', True) else 'none'}; precision "
        f"{config.get('precision')}; seed {config['seed']}.",
        "",
        "## Provenance",
        "",
        f"- Command: `{manifest.get('command')}`",
        (f"- Code: commit `{code['commit']}`{' (uncommitted changes)' if code.get('dirty') else ''}."
         if code.get("commit") else "- Code: commit not recorded (the run predates that manifest field)."),
        f"- Hardware: {manifest.get('device')}; " + ", ".join(f"{k} {v}" for k, v in sorted(versions.items())) + ".",
        _time_line(run_dir, manifest) + (f"; finished {trained_on}." if trained_on else "."),
        "",
    ]
    return "\n".join(lines)


def write_card(run_dir, saved_model_dir, export_name=None, evaluation=None, published=None, trained_on=None):
    """Write ``README.md`` into the SavedModel folder (atomically); returns its path.

    Raises:
        FileNotFoundError: `saved_model_dir` is not a SavedModel folder.
        ValueError: the run has not finished.
    """
    saved_model_dir = Path(saved_model_dir)
    if not (saved_model_dir / "saved_model.pb").is_file():
        raise FileNotFoundError(
            f"{str(saved_model_dir)!r} is not a SavedModel folder (no saved_model.pb); pass the folder the run "
            "exported to (its manifest's export_dir)."
        )
    export_name = export_name or str(saved_model_dir)
    text = render_card(run_dir, export_name, evaluation, published, trained_on)
    write_text(saved_model_dir / CARD, text)
    return saved_model_dir / CARD


__all__ = ["CARD", "render_card", "write_card"]
