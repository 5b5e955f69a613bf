"""Validation split and training subset: deterministic, stratified, disjoint."""

import numpy as np
import pytest

from keras_resnet_opt.data import DataError, load_cifar10
from keras_resnet_opt.data.splits import stratified_holdout, stratified_subset


def _labels(n=1000):
    return np.arange(n) % 10


def test_holdout_is_stratified_disjoint_and_complete():
    y = _labels()
    kept, held = stratified_holdout(y, 100, seed=3)
    assert len(held) == 100 and len(kept) == 900
    assert not set(kept) & set(held)
    assert sorted(np.concatenate([kept, held])) == list(range(1000))
    assert np.all(np.bincount(y[held]) == 10)


def test_holdout_depends_only_on_seed():
    y = _labels()
    a = stratified_holdout(y, 100, seed=1)[1]
    b = stratified_holdout(y, 100, seed=1)[1]
    c = stratified_holdout(y, 100, seed=2)[1]
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_zero_holdout_and_subset():
    y = _labels()
    kept, held = stratified_holdout(y, 0, seed=0)
    assert len(held) == 0 and len(kept) == 1000
    sub = stratified_subset(y, 200, seed=0)
    assert len(sub) == 200 and np.all(np.bincount(y[sub]) == 20)
    assert len(stratified_subset(y, None, seed=0)) == 1000


def test_load_cifar10_split_and_subset(synthetic_dir):
    data = load_cifar10(synthetic_dir, val_size=50, seed=0, train_subset=100)
    assert len(data.val[0]) == 50 and len(data.train[0]) == 100
    assert np.all(np.bincount(data.val[1]) == 5)
    assert np.all(np.bincount(data.train[1]) == 10)
    # Disjoint: no validation image also appears in training.
    train_rows = {x.tobytes() for x in data.train[0]}
    assert not any(x.tobytes() in train_rows for x in data.val[0])


def test_bad_split_sizes(synthetic_dir):
    with pytest.raises(DataError, match="val_size"):
        load_cifar10(synthetic_dir, val_size=-1)
    with pytest.raises(DataError, match="hold out"):
        load_cifar10(synthetic_dir, val_size=10_000)


def test_sides_smaller_than_the_class_count_fall_back_to_a_seeded_random_split():
    y = _labels(100)
    sub = stratified_subset(y, 95, seed=0)  # only 5 left over: cannot be stratified
    assert len(sub) == 95 and len(set(sub)) == 95
    np.testing.assert_array_equal(sub, stratified_subset(y, 95, seed=0))
    kept, held = stratified_holdout(y, 3, seed=1)
    assert len(held) == 3 and len(kept) == 97 and not set(kept) & set(held)
