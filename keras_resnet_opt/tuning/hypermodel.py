"""`ResNetHyperModel`: one tuning trial is one short training run, built as a real one.

Each trial resolves a ``RunConfig`` (the search's base config with the trial's
learning rate, p and weight decay), then is prepared by
``training.prepare.prepare_run``, as a training run is, so the seed, the
model, the learning-rate schedule (the preset's, over the search's epochs) and
the coupled weight decay are exactly those of ``scripts/train.py`` with the
same settings. Training uses the project's
seeded tf.data pipeline; the objective is accuracy on the held-out validation
split. The test split is dropped as soon as the data is loaded
(`load_search_data`) and never reaches a trial.

Every trial starts from the same initial weights and sees the same batches
(both from ``config.seed``), so trials differ only in their hyperparameters.

Under a tf.distribute strategy (``config.strategy`` not "default"; the tuner
enters the strategy's scope around `build`) the model gets synchronised
BatchNorm, through the same ``prepare_run`` as a training run, and the
batch size stays the global batch: each replica's BatchNorm sees the whole
batch, so a replicated trial computes what a single-device trial would.
"""

import dataclasses

import keras
import keras_tuner
import tensorflow as tf

from keras_resnet_opt.config import safe_name_part
from keras_resnet_opt.data.pipeline import eval_dataset, steps_per_epoch, train_dataset
from keras_resnet_opt.training.prepare import load_checkpoint, load_run_data, prepare_run
from keras_resnet_opt.tuning.trial_state import TrialRecorder, read_trial_history, resume_trial


def final_epoch_metrics(history):
    """``{metric: value at the last epoch}`` of a ``keras.callbacks.History``
    (anything else is returned as it is), the form in which a trial is scored
    by its final epoch rather than by Keras Tuner's best one."""
    if not isinstance(history, keras.callbacks.History):
        return history
    return {name: float(values[-1]) for name, values in history.history.items() if len(values)}


@dataclasses.dataclass(frozen=True)
class SearchData:
    """The training and validation splits a search uses; there is no test split here."""

    train: tuple
    val: tuple
    source: str
    checksum: str


def load_search_data(config):
    """Train and validation arrays for ``config`` (its split seed, val size, subset).

    The validation split is the one ``scripts/train.py`` holds out with the same
    settings. The test split is not kept.

    Raises:
        ValueError: ``config.val_size`` is 0 (a search needs a validation split).
    """
    if not config.val_size:
        raise ValueError("Tuning needs a validation split: `val_size` must be > 0. Received: val_size=0")
    data = load_run_data(config)
    return SearchData(train=data.train, val=data.val, source=data.source, checksum=data.checksum)


class ResNetHyperModel(keras_tuner.HyperModel):
    """A CIFAR-10 ResNet and its optimizer, with hyperparameters from a `SearchSpace`.

    Args:
        config: the search's base ``RunConfig`` (preset, optimizer, epochs,
            data settings); a trial replaces its tuned fields.
        space: the optimizer's ``SearchSpace``.
        data: a `SearchData`, or a callable returning one (loaded on first
            use, so a process that never trains never loads it).
        grid: declare the grid tuner's finite space. Defaults to False.
    """

    def __init__(self, config, space, data, grid=False):
        super().__init__(name=f"resnet-{safe_name_part(space.optimizer)}")
        if config.optimizer != space.optimizer:
            raise ValueError(
                f"The config's optimizer and the search space's differ. "
                f"Received: config.optimizer={config.optimizer!r}, space.optimizer={space.optimizer!r}"
            )
        self.config = config
        self.space = space
        self.grid = grid
        self._data = data

    @property
    def data(self):
        if callable(self._data):
            self._data = self._data()
        return self._data

    @property
    def steps_per_epoch(self):
        return steps_per_epoch(len(self.data.train[0]), self.config.batch_size)

    def trial_config(self, hp):
        """The RunConfig of the trial whose values ``hp`` holds (declaring the space on it)."""
        values = self.space.declare(hp, grid=self.grid)
        tuned = {k: v for k, v in values.items() if v is not None}
        return dataclasses.replace(self.config, **tuned).validate()

    def build(self, hp):
        # Same seed for every trial: identical initial weights, so only the
        # hyperparameters differ between trials. Built under the tuner's
        # strategy (synchronised BatchNorm when config.strategy is not "default").
        return prepare_run(self.trial_config(hp), data=self.data, strategy=tf.distribute.get_strategy()).model

    def fit(self, hp, model, *args, callbacks=None, epochs=None, initial_epoch=0, verbose=0, trial_dir=None, **kwargs):
        """Train on the training split, validate on the validation split.

        ``epochs``/``initial_epoch`` come from Hyperband (a continued trial
        resumes its weights at ``initial_epoch``); otherwise the search's
        epochs. With ``trial_dir`` (the project's tuners pass it) the trial
        records a per-epoch checkpoint and history there, and continues from
        its newest checkpoint when it was interrupted (tuning/trial_state.py).
        Other arguments given to ``tuner.search`` are rejected, so no other
        data can slip in.
        """
        if args or kwargs:
            raise TypeError(
                "ResNetHyperModel.fit takes its data from the search; "
                f"received extra arguments {list(kwargs) or len(args)}."
            )
        config = self.trial_config(hp)
        epochs = int(epochs or config.epochs)
        x_train, y_train = self.data.train
        steps = self.steps_per_epoch
        callbacks = list(callbacks or [])
        if trial_dir is not None:

            def load(path):
                with model.distribute_strategy.scope():
                    return load_checkpoint(path, config)

            saved_epoch, saved = resume_trial(trial_dir, load, steps, first_epoch=initial_epoch)
            if saved is not None and saved_epoch < epochs:
                model, initial_epoch = saved, saved_epoch
            callbacks.append(TrialRecorder(trial_dir, read_trial_history(trial_dir, up_to_epoch=initial_epoch)))
        return model.fit(
            train_dataset(x_train, y_train, config.batch_size, config.seed, initial_epoch, epochs,
                          augment=config.augment),
            epochs=epochs,
            initial_epoch=initial_epoch,
            steps_per_epoch=steps,
            validation_data=eval_dataset(*self.data.val, config.eval_batch_size),
            shuffle=False,  # the dataset is already shuffled, reproducibly, per epoch
            callbacks=[*callbacks, keras.callbacks.TerminateOnNaN()],
            verbose=verbose,
        )
