"""Optimizers: Padam, coupled L2 weight decay for any optimizer, the registry.

- `Padam`: partially adaptive momentum estimation (arXiv 1806.06763), exactly
  as the authors' reference code computes it.
- `CoupledWeightDecay`, `with_coupled_decay`, `CoupledSGD`, `CoupledAdam`,
  `CoupledNadam`, `CoupledAdamW`: the papers' coupled L2 decay
  (`g + wd * theta`) for every optimizer, by one mixin.
- `HeavyBallSGD`, `CoupledHeavyBallSGD`: SGD-momentum with the velocity of
  raw gradients (PyTorch's form, which the reference scripts ran); Keras'
  SGD differs from it after a learning-rate decay.
- `make_optimizer`, `list_optimizers`, `optimizer_defaults`: the optimizers
  compared, with their defaults kept in one table (`registry.OPTIMIZERS`;
  their names and Padam's p, Keras-free, in `keras_resnet_opt.optimizer_names`).

See docs/optimizers.md.
"""

from keras_resnet_opt.optimizers.coupled_decay import (
    DECAY_VARIABLES,
    CoupledAdam,
    CoupledAdamW,
    CoupledNadam,
    CoupledSGD,
    CoupledWeightDecay,
    with_coupled_decay,
)
from keras_resnet_opt.optimizers.heavy_ball import CoupledHeavyBallSGD, HeavyBallSGD
from keras_resnet_opt.optimizers.padam import Padam
from keras_resnet_opt.optimizers.registry import OPTIMIZERS, list_optimizers, make_optimizer, optimizer_defaults

__all__ = [
    "DECAY_VARIABLES",
    "OPTIMIZERS",
    "CoupledAdam",
    "CoupledAdamW",
    "CoupledHeavyBallSGD",
    "CoupledNadam",
    "CoupledSGD",
    "CoupledWeightDecay",
    "HeavyBallSGD",
    "Padam",
    "list_optimizers",
    "make_optimizer",
    "optimizer_defaults",
    "with_coupled_decay",
]
