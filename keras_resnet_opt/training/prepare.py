"""`prepare_run`: what every training of a `RunConfig` does before ``model.fit``.

A training run (training/runner.py), a tuning trial (tuning/hypermodel.py) and
an experiment (experiments/lr_decay_check.py) all go through it, so the seed,
the data split, the model, the optimizer with its learning-rate schedule and
coupled weight decay, and the compile settings are the same for the same
config, whoever trains it:

1. the process is seeded and configured (`environment.configure_run`: seed,
   dtype policy, op determinism);
2. the distribution strategy is made (``config.strategy``), unless the caller
   builds inside one of its own (a tuner does);
3. the data is loaded (`load_run_data`: the config's split seed, validation
   size and subset), unless the caller holds it already;
4. under the strategy, the model and its optimizer are built
   (`build_run_model`, `build_run_optimizer`), or a checkpoint is resumed,
   and the model is compiled.
"""

import dataclasses

import keras

from keras_resnet_opt import distribute, environment
from keras_resnet_opt.config import check_bn_groups_split
from keras_resnet_opt.data import load_cifar10
from keras_resnet_opt.data.pipeline import steps_per_epoch
from keras_resnet_opt.models import build_model
from keras_resnet_opt.optimizer_names import is_plugin
from keras_resnet_opt.optimizers import make_optimizer, with_coupled_decay
from keras_resnet_opt.optimizers.registry import default_learning_rate, optimizer_class
from keras_resnet_opt.training.schedules import make_schedule

LOSS = "sparse_categorical_crossentropy"
METRICS = ("accuracy",)


@dataclasses.dataclass
class PreparedRun:
    """A compiled model ready for ``fit``, with what it was prepared from."""

    model: keras.Model
    data: object  # the loaded data (``.train``, ``.val``, ...)
    steps: int  # training steps per epoch
    strategy: object  # the tf.distribute strategy the model lives under


def load_run_data(config):
    """CIFAR-10 as ``config`` splits it: its data folder, split seed, validation size and subset."""
    return load_cifar10(
        config.data_dir, val_size=config.val_size, seed=config.split_seed, train_subset=config.train_subset
    )


def prepare_run(config, data=None, strategy=None, resume=None, metrics=METRICS):
    """Seed and configure the process, load the data, build (or resume) the model and compile it.

    Args:
        config: a validated `RunConfig`.
        data: the run's data (anything with ``.train``); None loads it with
            `load_run_data` once the process is configured.
        strategy: the tf.distribute strategy to build under; None makes
            ``config.strategy``'s. A tuner, which builds inside its own
            strategy's scope, passes that one (``tf.distribute.get_strategy()``).
        resume: ``steps_per_epoch -> model or None``: a model (with its
            optimizer) to go on with, loaded under the strategy; None, or
            None returned, builds a fresh model and optimizer.
        metrics: the compiled metrics. Defaults to accuracy.

    Returns:
        `PreparedRun`.
    """
    environment.configure_run(config.seed, config.precision, config.deterministic)
    if strategy is None:
        strategy = distribute.make_strategy(config.strategy)
    if data is None:
        data = load_run_data(config)
    if config.bn_groups > 1:  # the config checked CIFAR-10's size; this is the size of the data loaded
        check_bn_groups_split(config.bn_groups, config.batch_size, len(data.train[0]))
    steps = steps_per_epoch(len(data.train[0]), config.batch_size)
    with strategy.scope():
        model = resume(steps) if resume is not None else None
        if model is not None:
            optimizer = model.optimizer
        else:
            model = build_run_model(config)
            optimizer = build_run_optimizer(config, steps)
        model.compile(optimizer=optimizer, loss=LOSS, metrics=list(metrics) or None, jit_compile=config.jit_compile)
    return PreparedRun(model, data, steps, strategy)


def build_run_model(config):
    """The config's model. Under a distribution strategy BatchNorm is synchronised:
    it must see the global batch, or a replicated step would not equal the
    single-device step it stands for."""
    return build_model(config.model, synchronized_bn=config.strategy != "default", bn_groups=config.bn_groups)


def initial_learning_rate(config):
    """The run's initial learning rate: ``--lr``, else the registry's default (a
    plug-in's: its class's own default), times the ``lr_scaling`` factor (1
    unless ``--lr-scaling linear`` and a changed batch).

    Raises:
        ValueError: an unknown optimizer, or a plug-in whose class has no
            default learning rate and no ``--lr``.
    """
    base_lr = config.learning_rate
    if base_lr is None:
        base_lr = default_learning_rate(config.optimizer)
        if base_lr is None:
            raise ValueError(
                f"Optimizer {config.optimizer!r} has no default learning rate (its class sets none); pass --lr."
            )
    return base_lr * config.lr_scale()


def build_run_optimizer(config, steps):
    """The configured optimizer with the preset's schedule (its lr: `initial_learning_rate`)."""
    base_lr = initial_learning_rate(config)
    schedule = make_schedule(
        config.lr_schedule, base_lr, steps, config.epochs, config.lr_boundaries, config.lr_decay_factor
    )
    overrides = {"learning_rate": schedule}
    if config.weight_decay is not None:
        overrides["weight_decay"] = config.weight_decay
    if config.partial is not None:
        overrides["partial"] = config.partial
    return make_optimizer(config.optimizer, **overrides)


def plugin_custom_objects(config):
    """``custom_objects`` that let a checkpoint of a plug-in optimizer load in a
    fresh process: its class, and its coupled-decay version (registered as a
    side effect of `with_coupled_decay`). Empty for the registry's optimizers,
    which register themselves."""
    if not is_plugin(config.optimizer):
        return {}
    klass = optimizer_class(config.optimizer)
    coupled = with_coupled_decay(klass)
    return {klass.__name__: klass, coupled.__name__: coupled}


def load_checkpoint(path, config):
    """A checkpoint of ``config``'s run, loaded in the current strategy's scope."""
    return keras.saving.load_model(path, custom_objects=plugin_custom_objects(config))


def check_checkpoint_optimizer(folder, loaded, expected):
    """Refuse to resume with an optimizer class other than the one this code builds
    for the run's name (e.g. a checkpoint from before ``sgdm`` moved from Keras'
    SGD to HeavyBallSGD): the run would carry one label but two update rules."""
    loaded_class = type(getattr(loaded, "inner_optimizer", loaded)).__name__
    expected_class = type(getattr(expected, "inner_optimizer", expected)).__name__
    if loaded_class != expected_class:
        raise ValueError(
            f"{str(folder)!r} holds a checkpoint trained with {loaded_class}, but this version builds "
            f"{expected_class} for the same settings. Pass --force to retrain it from the start, or "
            "choose another --run-name/--output-dir."
        )
