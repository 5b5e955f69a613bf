"""What changing one training setting does to a run: runs with the change, paired by seed with runs without it.

He et al.'s ResNet-20 reached 8.75% test error; the project's run of their
recipe reached 12.13%, and each candidate for the gap is measured by training
the same command again with that one setting changed (first: ``bn_groups`` 2,
the batch-norm batch of 64 their two GPUs gave). Same configuration and seed
means the same initial weights, split, data order and augmentation, so the
pair's difference is the change's effect plus run-to-run noise; several seeds
give a t-interval, one gives a point figure.

The runs of a pair must differ in the named setting (a configuration written
before the setting existed counts as its default) and train on the same data;
everything else in their configurations must match (`run_pairs.pair_runs`).
"""

from keras_resnet_opt.study import run_pairs
from keras_resnet_opt.study.stats import CONFIDENCE

# How the JSON names the two runs of a pair: (base, changed).
NAMES = ("base", "changed")


def setting_change(changed_dir, base_dir, setting, confidence=CONFIDENCE):
    """The paired effect of changing ``setting``, as a JSON-ready ``dict``.

    Per seed: each run's final test error (%) and final train loss, their
    differences (changed - base), and the per-image McNemar test where both
    saved predictions (``test_images``); over seeds: each difference's mean,
    its two-sided t-interval at ``confidence`` and the p of "no effect"; the
    setting's value in each folder.

    Raises:
        ValueError: ``setting`` is not a `RunConfig` field; no finished run in
            ``changed_dir``; a run without a partner (`run_pairs.pair_runs`);
            a pair with the same value of ``setting`` or trained on different
            data; two values of ``setting`` in one folder; a pair whose test
            labels differ.
    """
    if setting not in run_pairs.full_config({}):
        raise ValueError(f"Unknown setting {setting!r}: name a RunConfig field (keras_resnet_opt/config.py), "
                         "such as bn_groups.")  # fmt: skip
    may_differ = (setting, "run_name", "data_dir")  # data: compared by checksum below
    pairs = run_pairs.pair_runs(changed_dir, base_dir, may_differ)
    for changed, base in pairs:
        if _value(base, setting) == _value(changed, setting):
            raise ValueError(f"Runs {changed['run_name']!r} and {base['run_name']!r} both have "
                             f"{setting}={_value(changed, setting)!r}; pair runs that differ in {setting}.")
        if changed["data"]["checksum"] != base["data"]["checksum"]:
            raise ValueError(f"Runs {changed['run_name']!r} and {base['run_name']!r} trained on different data, so "
                             f"their difference is not {setting}'s alone; pair runs on the same copy.")
    for side, folder in ((1, base_dir), (0, changed_dir)):
        values = {_value(pair[side], setting) for pair in pairs}
        if len(values) > 1:
            raise ValueError(f"The runs paired from {str(folder)!r} have {setting} = "
                             f"{', '.join(sorted(map(repr, values)))}; keep one value per folder.")
    compared = run_pairs.compare(pairs, changed_dir, base_dir, confidence, NAMES)
    return {
        "what": f"final test error and train loss with {setting} changed minus without, paired by seed",
        "setting": setting,
        "base_value": _value(pairs[0][1], setting),
        "changed_value": _value(pairs[0][0], setting),
        **compared,
        "data": {"source": pairs[0][1]["data"]["source"], "checksum": pairs[0][1]["data"]["checksum"]},
    }


def _value(manifest, setting):
    """``setting``'s value in the run of ``manifest`` (its default where the configuration predates it)."""
    return run_pairs.full_config(manifest["config"])[setting]
