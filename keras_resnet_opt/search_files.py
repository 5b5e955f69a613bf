"""The files a learning-rate search leaves in its folder, named once for the writer and the readers.

``tuning`` writes them (`keras_resnet_opt.tuning.outputs`); the study report
reads them (`keras_resnet_opt.study.tuning_results`) with pandas alone, so the
names live here, below both, importing nothing:

    <search dir>/best_hparams.json   {"best": {optimizer: {learning_rate, partial,
                                     weight_decay}}, "searches": {optimizer: record}}
    <search dir>/trials.csv          one row per trial, columns `TRIAL_COLUMNS`
"""

BEST_HPARAMS = "best_hparams.json"
TRIALS_CSV = "trials.csv"
TRIAL_COLUMNS = (
    "optimizer", "trial_id", "learning_rate", "partial", "weight_decay", "val_accuracy", "status", "epochs", "tuner_id",
    "replicas", "train_loss",
)
