"""What JPEG damage costs a training run: runs on a damaged copy of CIFAR-10, paired with runs on the copy.

The project's CIFAR-10 is a JPEG copy (quality 75), and its originals are not
available here, so what that first round of compression costs cannot be
measured directly. What can be measured is what one *more* round of the same
kind and size costs: ``kro-jpeg-copy`` writes the copy with every image through
one more q75 round on a shifted block grid (``keras_resnet_opt.jpeg_sensitivity``),
and the same training runs (same configuration and seed: the same initial
weights, validation split, data order and augmentation) on both copies give a
paired difference per seed. That difference, with its t-interval, is the
measured cost of a second helping of the damage; the cost of the first (the
copy against the originals) is estimated from it, and is said to be an
estimate wherever it is quoted.

Only final-epoch numbers are compared, as everywhere in the project. Where
both runs of a pair saved their per-image test predictions, the pair also gets
an exact McNemar test over the test images: the two runs see two versions of
the same 10,000 images, in the same order, so the images pair up, and the test
says how much of one pair's difference the test sample alone could produce
(not how much another seed would move it).
"""

import json
import math
from pathlib import Path

from keras_resnet_opt.data.constants import COPY_PROVENANCE as PROVENANCE
from keras_resnet_opt.study.stats import CONFIDENCE, mcnemar, paired_t
from keras_resnet_opt.training.run_folder import STATUS_FINISHED, read_manifest, read_test_predictions

# Fields two paired runs may differ in: where their data and their folder are. Everything else must match.
MAY_DIFFER = ("data_dir", "run_name")


def _finished_runs(runs_dir):
    runs_dir = Path(runs_dir)
    if not runs_dir.is_dir():
        raise ValueError(f"{str(runs_dir)!r} is not a folder of runs; pass the runs/ folder the runs were written to.")
    runs = {}
    for run_dir in sorted(p for p in runs_dir.iterdir() if p.is_dir()):
        manifest = read_manifest(run_dir)
        if manifest is not None and manifest.get("status") == STATUS_FINISHED:
            runs[run_dir.name] = manifest
    return runs


def _key(config):
    return tuple(sorted((k, json.dumps(v, sort_keys=True)) for k, v in config.items() if k not in MAY_DIFFER))


def pair_runs(damaged_dir, original_dir):
    """``[(damaged manifest, original manifest)]``: each finished run in
    ``damaged_dir`` with the finished run in ``original_dir`` whose
    configuration is the same in everything but ``MAY_DIFFER``, by seed.

    Raises:
        ValueError: a damaged run has no such partner (which fields differ
            from the nearest run with its seed is named), or two damaged runs
            were trained on different data.
    """
    damaged, original = _finished_runs(damaged_dir), _finished_runs(original_dir)
    for folder, runs in ((original_dir, original), (damaged_dir, damaged)):
        seen = {}
        for name, manifest in runs.items():
            other = seen.setdefault(_key(manifest["config"]), name)
            if other != name:
                raise ValueError(f"Runs {other!r} and {name!r} in {str(folder)!r} were trained the same way; "
                                 "keep one of them there, or a seed would count twice.")
    by_key = {_key(m["config"]): m for m in original.values()}
    pairs = []
    for name, manifest in damaged.items():
        partner = by_key.get(_key(manifest["config"]))
        if partner is None:
            same_seed = [m for m in original.values() if m["config"].get("seed") == manifest["config"].get("seed")]
            hint = "no finished run with its seed"
            if same_seed:
                nearest = min(same_seed, key=lambda m: len(_differences(m, manifest)))
                hint = f"the nearest, {nearest['run_name']!r}, differs in {', '.join(_differences(nearest, manifest))}"
            raise ValueError(f"Run {name!r} has no partner in {str(original_dir)!r} trained the same way: {hint}.")
        if partner["data"]["checksum"] == manifest["data"]["checksum"]:
            raise ValueError(f"Run {name!r} and {partner['run_name']!r} trained on the same data; nothing to compare.")
        pairs.append((manifest, partner))
    if len({o["data"]["checksum"] for _, o in pairs}) > 1:
        raise ValueError(f"The partners in {str(original_dir)!r} were trained on different copies; pair with one copy.")
    if len({m["data"]["checksum"] for m, _ in pairs}) > 1:
        raise ValueError(
            f"The runs in {str(damaged_dir)!r} were trained on different copies; keep one copy per folder."
        )
    return sorted(pairs, key=lambda pair: pair[0]["config"]["seed"])


def _differences(a, b):
    return sorted(k for k in set(a["config"]) | set(b["config"])
                  if k not in MAY_DIFFER and a["config"].get(k) != b["config"].get(k))  # fmt: skip


def _test_images(damaged_dir, original_dir, damaged, original, confidence):
    """The pair's per-image comparison on the test set, or None when a run saved no predictions.

    Raises:
        ValueError: the two runs' test labels differ (not the same images in
            the same order), so their images cannot be paired.
    """
    saved = [read_test_predictions(Path(folder) / manifest["run_name"])
             for folder, manifest in ((original_dir, original), (damaged_dir, damaged))]  # fmt: skip
    if any(s is None for s in saved):
        return None
    (o_pred, o_labels), (d_pred, d_labels) = saved
    if o_labels.shape != d_labels.shape or not (o_labels == d_labels).all():
        raise ValueError(f"Runs {damaged['run_name']!r} and {original['run_name']!r} saved different test labels, "
                         "so their test images do not pair up; test both on the same split in the same order.")
    test = mcnemar(o_pred == o_labels, d_pred == d_labels)
    return {
        "images": test.n,
        "only_original_right": test.only_a,
        "only_damaged_right": test.only_b,
        "mcnemar_p_exact": float(f"{test.p_exact:.3g}"),  # 3 significant digits: tiny p stays above 0
        "difference_half_width_pp": round(100.0 * test.accuracy_difference_half_width(confidence), 2),
    }


def _paired(values, confidence):
    result = paired_t(values)
    low, high = result.interval(confidence)
    return {
        "mean": round(result.mean, 3),
        "interval": [round(low, 3), round(high, 3)] if math.isfinite(low) else None,
        "p_two_sided": round(result.p_two_sided(), 4) if result.n >= 2 else None,
    }


def jpeg_cost(damaged_dir, original_dir, confidence=CONFIDENCE):
    """The paired cost of the damaged copy, as a JSON-ready ``dict``.

    Per seed: final test error (%) and final train loss on each copy, and
    their differences (damaged - original), and the per-image McNemar test
    where both saved predictions (``test_images``: the discordant counts, the
    exact p, and the half-width of the normal interval that resampling the
    test images alone gives the difference); over seeds: each difference's mean,
    its two-sided t-interval at ``confidence`` and the p of "no cost"; the
    damaged copy's ``PROVENANCE.json`` (quality, grid shift, PSNR against the
    copy) when it lies beside ``damaged_dir``.

    Raises:
        ValueError: no finished damaged run, a run without a partner
            (``pair_runs``), a pair whose test labels differ, or a provenance
            whose source is not the data the original runs trained on.
    """
    pairs = pair_runs(damaged_dir, original_dir)
    if not pairs:
        raise ValueError(f"No finished run in {str(damaged_dir)!r} yet; nothing to compare.")
    rows = []
    for damaged, original in pairs:
        d_err, o_err = 100.0 * damaged["final"]["test_error"], 100.0 * original["final"]["test_error"]
        rows.append({
            "seed": damaged["config"]["seed"],
            "damaged_run": damaged["run_name"],
            "original_run": original["run_name"],
            "damaged_test_error_pct": round(d_err, 2),
            "original_test_error_pct": round(o_err, 2),
            "test_error_difference_pp": round(d_err - o_err, 2),
            "damaged_train_loss": round(damaged["final"]["train_loss"], 4),
            "original_train_loss": round(original["final"]["train_loss"], 4),
            "train_loss_difference": round(damaged["final"]["train_loss"] - original["final"]["train_loss"], 4),
            "test_images": _test_images(damaged_dir, original_dir, damaged, original, confidence),
        })
    provenance_path = Path(damaged_dir).parent / PROVENANCE
    damage = json.loads(provenance_path.read_text()) if provenance_path.is_file() else None
    if damage is not None and damage.get("source_checksum") != pairs[0][1]["data"]["checksum"]:
        raise ValueError(f"{str(provenance_path)!r} says the damaged copy was made from other data than the runs in "
                         f"{str(original_dir)!r} trained on; pair the runs with runs on its source.")
    config = pairs[0][0]["config"]
    return {
        "what": "final test error and train loss on the damaged copy minus on the copy, paired by seed",
        "confidence": confidence,
        "n_pairs": len(rows),
        "test_error_difference_pp": _paired([r["test_error_difference_pp"] for r in rows], confidence),
        "train_loss_difference": _paired([r["train_loss_difference"] for r in rows], confidence),
        "pairs": rows,
        "recipe": {k: config.get(k) for k in ("preset", "model", "optimizer", "learning_rate", "epochs", "precision")},
        "damaged_data": {"source": pairs[0][0]["data"]["source"], "checksum": pairs[0][0]["data"]["checksum"]},
        "original_data": {"source": pairs[0][1]["data"]["source"], "checksum": pairs[0][1]["data"]["checksum"]},
        "damage": damage,
    }
