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
from pathlib import Path

from keras_resnet_opt.data.constants import COPY_PROVENANCE as PROVENANCE
from keras_resnet_opt.study import run_pairs
from keras_resnet_opt.study.stats import CONFIDENCE

# Fields two paired runs may differ in: where their data and their folder are. Everything else must match.
MAY_DIFFER = ("data_dir", "run_name")
# How the JSON names the two runs of a pair: (base, changed).
NAMES = ("original", "damaged")


def pair_runs(damaged_dir, original_dir):
    """``[(damaged manifest, original manifest)]``: each finished run in
    ``damaged_dir`` with the finished run in ``original_dir`` whose
    configuration is the same in everything but ``MAY_DIFFER``, by seed.

    Raises:
        ValueError: as `run_pairs.pair_runs`; or a pair trained on the same
            data, or the runs of one folder on different copies.
    """
    pairs = run_pairs.pair_runs(damaged_dir, original_dir, MAY_DIFFER)
    for damaged, original in pairs:
        if original["data"]["checksum"] == damaged["data"]["checksum"]:
            raise ValueError(f"Run {damaged['run_name']!r} and {original['run_name']!r} trained on the same data; "
                             "nothing to compare.")
    if len({o["data"]["checksum"] for _, o in pairs}) > 1:
        raise ValueError(f"The partners in {str(original_dir)!r} were trained on different copies; pair with one copy.")
    if len({m["data"]["checksum"] for m, _ in pairs}) > 1:
        raise ValueError(
            f"The runs in {str(damaged_dir)!r} were trained on different copies; keep one copy per folder."
        )
    return pairs


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
    compared = run_pairs.compare(pairs, damaged_dir, original_dir, confidence, NAMES)
    provenance_path = Path(damaged_dir).parent / PROVENANCE
    damage = json.loads(provenance_path.read_text()) if provenance_path.is_file() else None
    if damage is not None and damage.get("source_checksum") != pairs[0][1]["data"]["checksum"]:
        raise ValueError(f"{str(provenance_path)!r} says the damaged copy was made from other data than the runs in "
                         f"{str(original_dir)!r} trained on; pair the runs with runs on its source.")
    return {
        "what": "final test error and train loss on the damaged copy minus on the copy, paired by seed",
        **compared,
        "damaged_data": {"source": pairs[0][0]["data"]["source"], "checksum": pairs[0][0]["data"]["checksum"]},
        "original_data": {"source": pairs[0][1]["data"]["source"], "checksum": pairs[0][1]["data"]["checksum"]},
        "damage": damage,
    }
