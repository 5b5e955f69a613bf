"""Finished runs paired by seed across two folders: the same training but for one named difference.

The project measures what one change costs a run (one more JPEG round of the
data, He et al.'s batch-norm batch) by training the same configuration and
seed twice, once with the change, and differencing the two. Same configuration
and seed means the same initial weights, split, data order and augmentation,
so seed-to-seed spread drops out of each pair's difference. This module finds
the pairs and computes what every such comparison reports; what may differ
within a pair, and what must, is the caller's (`jpeg_cost`, `setting_change`).

A configuration written before a `RunConfig` field existed lacks it; the
field's default is what that run trained with, so configurations are compared
with missing fields filled in by their defaults.

Only final-epoch numbers are compared, as everywhere in the project. Where
both runs of a pair saved their per-image test predictions, the pair also gets
an exact McNemar test over the test images, which says how much of one pair's
difference the test sample alone could produce (not how much another seed
would move it).
"""

import dataclasses
import json
import math
from pathlib import Path

from keras_resnet_opt.config import RunConfig
from keras_resnet_opt.study.stats import mcnemar, paired_t
from keras_resnet_opt.training.run_folder import STATUS_FINISHED, read_manifest, read_test_predictions

# Defaults of the fields a configuration may lack because it was written before they existed.
_DEFAULTS = {f.name: f.default for f in dataclasses.fields(RunConfig) if f.default is not dataclasses.MISSING}


def full_config(config):
    """``config`` with every `RunConfig` field it lacks set to that field's default."""
    return {**_DEFAULTS, **config}


def finished_runs(runs_dir):
    """``{folder name: manifest}`` of the finished runs in ``runs_dir``.

    Raises:
        ValueError: ``runs_dir`` is not a folder.
    """
    runs_dir = Path(runs_dir)
    if not runs_dir.is_dir():
        raise ValueError(f"{str(runs_dir)!r} is not a folder of runs; pass the runs/ folder the runs were written to.")
    runs = {}
    for run_dir in sorted(p for p in runs_dir.iterdir() if p.is_dir()):
        manifest = read_manifest(run_dir)
        if manifest is not None and manifest.get("status") == STATUS_FINISHED:
            runs[run_dir.name] = manifest
    return runs


def differences(a, b, may_differ):
    """The configuration fields, outside ``may_differ``, in which manifests ``a`` and ``b`` differ."""
    ca, cb = full_config(a["config"]), full_config(b["config"])
    return sorted(k for k in set(ca) | set(cb) if k not in may_differ and ca.get(k) != cb.get(k))


def _key(config, may_differ):
    return tuple(sorted((k, json.dumps(v, sort_keys=True)) for k, v in full_config(config).items()
                        if k not in may_differ))  # fmt: skip


def pair_runs(changed_dir, base_dir, may_differ):
    """``[(changed manifest, base manifest)]``, by seed: each finished run in
    ``changed_dir`` with the finished run in ``base_dir`` whose configuration
    is the same in everything but the fields in ``may_differ``.

    Raises:
        ValueError: a folder is missing; a changed run has no such partner
            (which fields differ from the nearest run with its seed is named);
            two runs of one folder were trained the same way (a seed would
            count twice).
    """
    changed, base = finished_runs(changed_dir), finished_runs(base_dir)
    for folder, runs in ((base_dir, base), (changed_dir, changed)):
        seen = {}
        for name, manifest in runs.items():
            other = seen.setdefault(_key(manifest["config"], may_differ), name)
            if other != name:
                raise ValueError(f"Runs {other!r} and {name!r} in {str(folder)!r} were trained the same way; "
                                 "keep one of them there, or a seed would count twice.")
    by_key = {_key(m["config"], may_differ): m for m in base.values()}
    pairs = []
    for name, manifest in changed.items():
        partner = by_key.get(_key(manifest["config"], may_differ))
        if partner is None:
            seed = manifest["config"].get("seed")
            same_seed = [m for m in base.values() if m["config"].get("seed") == seed]
            hint = "no finished run with its seed"
            if same_seed:
                nearest = min(same_seed, key=lambda m: len(differences(m, manifest, may_differ)))
                hint = (f"the nearest, {nearest['run_name']!r}, differs in "
                        f"{', '.join(differences(nearest, manifest, may_differ))}")  # fmt: skip
            raise ValueError(f"Run {name!r} has no partner in {str(base_dir)!r} trained the same way: {hint}.")
        pairs.append((manifest, partner))
    return sorted(pairs, key=lambda pair: pair[0]["config"]["seed"])


def _image_comparison(changed_dir, base_dir, changed, base, confidence, names):
    """The pair's per-image comparison on the test set, or None when a run saved no predictions.

    ``names`` (base, changed) name the discordant counts: ``only_<base>_right``
    and ``only_<changed>_right``.

    Raises:
        ValueError: the two runs' test labels differ (not the same images in
            the same order), so their images cannot be paired.
    """
    saved = [read_test_predictions(Path(folder) / manifest["run_name"])
             for folder, manifest in ((base_dir, base), (changed_dir, changed))]  # fmt: skip
    if any(s is None for s in saved):
        return None
    (b_pred, b_labels), (c_pred, c_labels) = saved
    if b_labels.shape != c_labels.shape or not (b_labels == c_labels).all():
        raise ValueError(f"Runs {changed['run_name']!r} and {base['run_name']!r} saved different test labels, "
                         "so their test images do not pair up; test both on the same split in the same order.")
    test = mcnemar(b_pred == b_labels, c_pred == c_labels)
    base_name, changed_name = names
    return {
        "images": test.n,
        f"only_{base_name}_right": test.only_a,
        f"only_{changed_name}_right": test.only_b,
        "mcnemar_p_exact": float(f"{test.p_exact:.3g}"),  # 3 significant digits: tiny p stays above 0
        "difference_half_width_pp": round(100.0 * test.accuracy_difference_half_width(confidence), 2),
    }


def _paired_summary(values, confidence):
    """Mean, two-sided t-interval at ``confidence`` and p of "no difference" of per-pair differences
    (interval and p are None for a single pair)."""
    result = paired_t(values)
    low, high = result.interval(confidence)
    return {
        "mean": round(result.mean, 3),
        "interval": [round(low, 3), round(high, 3)] if math.isfinite(low) else None,
        "p_two_sided": round(result.p_two_sided(), 4) if result.n >= 2 else None,
    }


def _pair_row(changed, base, names):
    """One pair's final test errors (%) and train losses, and their differences (changed - base)."""
    c_err, b_err = 100.0 * changed["final"]["test_error"], 100.0 * base["final"]["test_error"]
    base_name, changed_name = names
    return {
        "seed": changed["config"]["seed"],
        f"{changed_name}_run": changed["run_name"],
        f"{base_name}_run": base["run_name"],
        f"{changed_name}_test_error_pct": round(c_err, 2),
        f"{base_name}_test_error_pct": round(b_err, 2),
        "test_error_difference_pp": round(c_err - b_err, 2),
        f"{changed_name}_train_loss": round(changed["final"]["train_loss"], 4),
        f"{base_name}_train_loss": round(base["final"]["train_loss"], 4),
        "train_loss_difference": round(changed["final"]["train_loss"] - base["final"]["train_loss"], 4),
    }


def compare(pairs, changed_dir, base_dir, confidence, names):
    """What every paired comparison reports, as a JSON-ready ``dict``.

    Per pair (``pairs`` as `pair_runs` gives them): each run's final test
    error (%) and train loss, their differences (changed - base), and the
    per-image McNemar test where both saved predictions (``test_images``);
    over pairs: each difference's mean, two-sided t-interval at
    ``confidence`` and p of "no difference"; the recipe, from the base runs.
    ``names`` (base, changed) name the two runs in the JSON's keys.

    Raises:
        ValueError: no pair (nothing finished in ``changed_dir`` yet), or a
            pair whose test labels differ.
    """
    if not pairs:
        raise ValueError(f"No finished run in {str(changed_dir)!r} yet; nothing to compare.")
    rows = [{**_pair_row(changed, base, names),
             "test_images": _image_comparison(changed_dir, base_dir, changed, base, confidence, names)}
            for changed, base in pairs]  # fmt: skip
    config = pairs[0][1]["config"]
    return {
        "confidence": confidence,
        "n_pairs": len(rows),
        "test_error_difference_pp": _paired_summary([r["test_error_difference_pp"] for r in rows], confidence),
        "train_loss_difference": _paired_summary([r["train_loss_difference"] for r in rows], confidence),
        "pairs": rows,
        # The fields that name a recipe; the same on both sides unless the change is one of them.
        "recipe": {k: config.get(k) for k in ("preset", "model", "optimizer", "learning_rate", "epochs", "precision")},
    }
