"""One run against one published number: the He et al. anchor run's summary and curves.

A tool that compares optimizers must show once that its training path reaches
a published result (`results/he2016/`). `summarize_anchor` reads a finished
run folder and reports its final test error next to the published one, in
the units the paper uses (iterations, not epochs); `plot_anchor` draws train
loss and test error against iterations with the learning-rate decays marked,
the picture of He et al.'s Figure 6.

Only the final epoch's test error is compared: the best epoch's would be
chosen on the test set.
"""

import json
from pathlib import Path

from keras_resnet_opt.atomic import atomic_path, write_json
from keras_resnet_opt.training.run_folder import CONFIG, MANIFEST, manifest_steps_per_epoch, read_history


def summarize_anchor(run_dir, published_error_pct, source):
    """``dict`` with the run's final test error (%), the published one, their
    difference, the iterations trained, the decay iterations and the run's
    provenance (command, data, device, commit).

    Raises:
        ValueError: the run folder holds no finished run (no manifest).
    """
    run_dir = Path(run_dir)
    manifest_path = run_dir / MANIFEST
    if not manifest_path.is_file():
        raise ValueError(f"{str(run_dir)!r} holds no finished run (no manifest.json); finish or resume it first.")
    manifest = json.loads(manifest_path.read_text())
    config = manifest["config"]
    steps = manifest_steps_per_epoch(manifest)
    final_error = 100.0 * manifest["final"]["test_error"]
    return {
        "run": run_dir.name,
        "final_test_error_pct": round(final_error, 2),
        "published_test_error_pct": published_error_pct,
        "difference_pp": round(final_error - published_error_pct, 2),
        "published_source": source,
        "epochs": manifest["final"]["epoch"],
        "iterations": manifest["final"]["epoch"] * steps,
        "decay_iterations": [round(b * steps) for b in config["lr_boundaries"]],
        "final_train_loss": manifest["final"]["train_loss"],
        "train_images": manifest["data"]["train_images"],
        "data_source": manifest["data"]["source"],
        "precision": config["precision"],
        "device": manifest.get("device"),
        "code": manifest.get("code"),
        "command": manifest.get("command"),
    }


def plot_anchor(run_dir, path, published_error_pct=None, compare=()):
    """Train loss and test error (%) against iterations, decays dashed, the
    published final error as a dotted line; written atomically to ``path``.

    ``compare``: further run folders of the same recipe (the same iterations
    per epoch), drawn beside the run, finished or not: the He run's twin on a
    damaged copy, for one, whose curve shows where the two part.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    run_dir = Path(run_dir)
    manifest = json.loads((run_dir / MANIFEST).read_text())
    steps = manifest_steps_per_epoch(manifest)
    fig, (loss_ax, error_ax) = plt.subplots(1, 2, figsize=(10, 4))
    for index, (folder, label) in enumerate([(run_dir, "this run")] + [(Path(c), Path(c).name) for c in compare]):
        rows = [r for r in read_history(folder) if r.get("test_error") is not None]
        iterations = [r["epoch"] * steps for r in rows]
        style = {"color": f"C{index}", "linewidth": 1.2 if index else 1.5}
        loss_ax.plot(iterations, [float(r["loss"]) for r in rows], label=label, **style)
        error_ax.plot(iterations, [100.0 * r["test_error"] for r in rows], label=label, **style)
    loss_ax.set(xlabel="iterations", ylabel="train loss (augmented batches)", yscale="log")
    if published_error_pct is not None:
        error_ax.axhline(published_error_pct, linestyle=":", color="black", label=f"published {published_error_pct}%")
    error_ax.set(xlabel="iterations", ylabel="test error (%)", ylim=(0, 30))
    for ax in (loss_ax, error_ax):
        for boundary in manifest["config"]["lr_boundaries"]:
            ax.axvline(boundary * steps, linestyle="--", color="grey", linewidth=0.8)
    error_ax.legend(fontsize="small")
    fig.suptitle(f"{run_dir.name}: lr /10 at the dashed lines")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=120)
    plt.close(fig)
    return Path(path)


# What must agree for two runs to share one iterations axis and one set of decays.
SAME_RECIPE = ("batch_size", "epochs", "train_subset", "val_size", "lr_boundaries")


def _check_comparable(run_dir, folder):
    """Refuse a `plot_anchor` comparison folder with no recorded epoch or another recipe."""
    folder = Path(folder)
    if not read_history(folder):
        raise ValueError(f"{str(folder)!r} holds no recorded epoch (no history.json) to draw beside the run; "
                         "pass a run folder that has trained at least one epoch.")  # fmt: skip
    ours = json.loads((Path(run_dir) / MANIFEST).read_text())["config"]
    theirs = json.loads((folder / CONFIG).read_text()) if (folder / CONFIG).is_file() else {}
    differ = [k for k in SAME_RECIPE if ours.get(k) != theirs.get(k)]
    if differ:
        listed = ", ".join(f"{k}: {theirs.get(k)!r} against {ours.get(k)!r}" for k in differ)
        raise ValueError(
            f"{str(folder)!r} is not a run of the same recipe ({listed}): it cannot share the run's iterations "
            "axis and decays; compare runs of one preset and batch size."
        )


def write_anchor_report(run_dir, out_dir, published_error_pct, source, compare=()):
    """``summary.json`` and ``curves.png`` in ``out_dir`` (``compare`` as in
    `plot_anchor`); returns the summary."""
    out_dir = Path(out_dir)
    summary = summarize_anchor(run_dir, published_error_pct, source)
    for folder in compare:  # checked before anything is written
        _check_comparable(run_dir, folder)
    write_json(out_dir / "summary.json", summary)
    plot_anchor(run_dir, out_dir / "curves.png", published_error_pct, compare)
    return summary
