"""Seeded, stratified train/validation split and training subsets.

Uses scikit-learn's ``train_test_split`` with ``stratify`` so every class keeps
its share; the same seed always gives the same indices.
"""

import numpy as np
from sklearn.model_selection import train_test_split

from keras_resnet_opt.data.errors import DataError


def stratified_holdout(labels, holdout_size, seed):
    """Split indices into ``(kept, held_out)`` with ``holdout_size`` held out, stratified by label.

    ``holdout_size=0`` keeps everything. Both index arrays are sorted so that the
    original order (and hence the data) does not depend on sklearn internals.
    """
    indices = np.arange(len(labels))
    if holdout_size == 0:
        return indices, indices[:0]
    if not 0 < holdout_size < len(labels):
        raise DataError(f"Cannot hold out {holdout_size} of {len(labels)} training images.")
    classes = len(np.unique(labels))
    if min(holdout_size, len(labels) - holdout_size) < classes:
        # A side smaller than the number of classes cannot hold every class
        # (sklearn refuses); fall back to a plain seeded random split.
        held = np.random.default_rng(seed).choice(indices, holdout_size, replace=False)
        return np.setdiff1d(indices, held), np.sort(held)
    kept, held = train_test_split(indices, test_size=holdout_size, stratify=labels, random_state=seed)
    return np.sort(kept), np.sort(held)


def stratified_subset(labels, size, seed):
    """Sorted indices of a stratified subset of ``size`` items (all of them if size is None)."""
    if size is None or size >= len(labels):
        return np.arange(len(labels))
    if size <= 0:
        raise DataError(f"`train_subset` must be positive. Received: train_subset={size}")
    _, subset = stratified_holdout(labels, size, seed)
    return subset
