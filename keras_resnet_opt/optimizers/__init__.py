"""Optimizers: Padam, coupled L2 weight decay for any optimizer, the registry.

- `Padam`: partially adaptive momentum estimation (arXiv 1806.06763), exactly
  as the authors' reference code computes it.
- `CoupledWeightDecay`, `with_coupled_decay`, `CoupledSGD`, `CoupledAdam`,
  `CoupledNadam`, `CoupledAdamW`: the papers' coupled L2 decay
  (`g + wd * theta`) for every optimizer, by one mixin.
- `HeavyBallSGD`, `CoupledHeavyBallSGD`: SGD-momentum with the velocity of
  raw gradients (PyTorch's form, which the reference scripts ran); Keras'
  SGD differs from it after a learning-rate decay.
- `make_optimizer`, `list_optimizers`, `optimizer_defaults`, `decay_kind`,
  `describe_optimizer`: the optimizers compared, with their defaults kept in
  one table (`registry.OPTIMIZERS`).

See docs/optimizers.md.
"""

from keras_resnet_opt.optimizers.coupled_decay import DECAY_VARIABLES
from keras_resnet_opt.optimizers.coupled_decay import CoupledAdam
from keras_resnet_opt.optimizers.coupled_decay import CoupledAdamW
from keras_resnet_opt.optimizers.coupled_decay import CoupledNadam
from keras_resnet_opt.optimizers.coupled_decay import CoupledSGD
from keras_resnet_opt.optimizers.coupled_decay import CoupledWeightDecay
from keras_resnet_opt.optimizers.coupled_decay import with_coupled_decay
from keras_resnet_opt.optimizers.heavy_ball import CoupledHeavyBallSGD
from keras_resnet_opt.optimizers.heavy_ball import HeavyBallSGD
from keras_resnet_opt.optimizers.padam import Padam
from keras_resnet_opt.optimizers.registry import OPTIMIZERS
from keras_resnet_opt.optimizers.registry import decay_kind
from keras_resnet_opt.optimizers.registry import describe_optimizer
from keras_resnet_opt.optimizers.registry import list_optimizers
from keras_resnet_opt.optimizers.registry import make_optimizer
from keras_resnet_opt.optimizers.registry import optimizer_defaults

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
    "decay_kind",
    "describe_optimizer",
    "list_optimizers",
    "make_optimizer",
    "optimizer_defaults",
    "with_coupled_decay",
]
