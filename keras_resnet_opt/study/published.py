"""Published CIFAR-10 numbers a reproduction is judged against, each with its source.

One table, `PUBLISHED`. Values are stored as the source prints them (test error
or test accuracy, in percent); `PublishedResult.test_error_pct` converts.
Optimizer names are this package's registry names ("sgdm" = SGD with momentum
0.9), model names are this package's model names.

A published number is put next to a study's result only where the setups match
(`setup_differences` is empty): same model, same optimizer, the same training
length within 10%, and the full training set. Otherwise it is context only.
"""

import dataclasses

SOURCES = {
    "he2016": "He, Zhang, Ren, Sun. Deep Residual Learning for Image Recognition. CVPR 2016, Table 6.",
    "keras_example": "Keras' own CIFAR-10 ResNet example (Adam, 200 epochs), keras-team/keras examples.",
    "padam": "Chen & Gu. Closing the Generalization Gap of Adaptive Gradient Methods in Training Deep Neural Networks. "
    "arXiv 1806.06763, IJCAI 2020.",
    "iclr2019_repro": "ICLR 2019 Reproducibility Challenge report on Padam (VGG-16, CIFAR-10).",
}

# Relative tolerance on the number of epochs for a setup to count as the same.
EPOCH_TOLERANCE = 0.10


@dataclasses.dataclass(frozen=True)
class PublishedResult:
    """One published CIFAR-10 test number.

    Attributes:
        source: key into `SOURCES`.
        model: model name in this package's naming ("resnet20", "resnet18", ...).
        optimizer: optimizer registry name ("sgdm", "adam", "padam", ...).
        value: the number as published, in percent.
        metric: "test_error" or "test_accuracy" (what `value` is).
        epochs: length of the training run.
        at_epoch: the epoch the number was read at, when not the end of training.
        note: how the number was obtained, where it matters.
    """

    source: str
    model: str
    optimizer: str
    value: float
    metric: str
    epochs: int
    at_epoch: int | None = None
    note: str = ""

    @property
    def test_error_pct(self):
        return self.value if self.metric == "test_error" else round(100.0 - self.value, 10)

    @property
    def test_accuracy_pct(self):
        return self.value if self.metric == "test_accuracy" else round(100.0 - self.value, 10)

    @property
    def epoch(self):
        """The epoch the number describes (the end of training unless `at_epoch`)."""
        return self.at_epoch or self.epochs

    @property
    def final(self):
        return self.at_epoch is None or self.at_epoch == self.epochs

    @property
    def citation(self):
        return SOURCES[self.source]


# He et al.: 64k iterations at batch 128 on the 45k/5k split, about 182 epochs.
_HE_EPOCHS = 182
_HE_NOTE = "SGD-momentum, 64k iterations (~182 epochs), wd 1e-4"

PUBLISHED = (
    PublishedResult("he2016", "resnet20", "sgdm", 8.75, "test_error", _HE_EPOCHS, note=_HE_NOTE),
    PublishedResult("he2016", "resnet32", "sgdm", 7.51, "test_error", _HE_EPOCHS, note=_HE_NOTE),
    PublishedResult("he2016", "resnet44", "sgdm", 7.17, "test_error", _HE_EPOCHS, note=_HE_NOTE),
    PublishedResult("he2016", "resnet56", "sgdm", 6.97, "test_error", _HE_EPOCHS, note=_HE_NOTE),
    PublishedResult(
        "he2016", "resnet110", "sgdm", 6.43, "test_error", _HE_EPOCHS,
        note=_HE_NOTE + "; best of 5 runs (mean 6.61 ± 0.16)",
    ),
    PublishedResult("keras_example", "resnet20", "adam", 92.16, "test_accuracy", 200, note="ResNet v1"),
    PublishedResult("keras_example", "resnet32", "adam", 92.46, "test_accuracy", 200, note="ResNet v1"),
    PublishedResult("keras_example", "resnet56", "adam", 92.71, "test_accuracy", 200, note="ResNet v1"),
    PublishedResult(
        "keras_example", "resnet56v2", "adam", 93.01, "test_accuracy", 200, note="ResNet v2 (pre-activation)"
    ),
    PublishedResult("padam", "resnet18", "sgdm", 95.00, "test_accuracy", 200),
    PublishedResult("padam", "resnet18", "adam", 92.89, "test_accuracy", 200),
    PublishedResult("padam", "resnet18", "amsgrad", 93.53, "test_accuracy", 200),
    PublishedResult("padam", "resnet18", "adamw", 94.56, "test_accuracy", 200),
    PublishedResult("padam", "resnet18", "padam", 94.94, "test_accuracy", 200, note="p = 1/8"),
    *(
        PublishedResult("iclr2019_repro", "vgg16", optimizer, value, "test_accuracy", 200, at_epoch=epoch)
        for optimizer, values in (
            ("sgdm", (68.71, 87.88, 92.94, 92.95)),
            ("adam", (84.62, 91.54, 92.34, 92.39)),
            ("amsgrad", (87.89, 91.75, 92.26, 92.19)),
            ("padam", (67.92, 90.86, 93.08, 93.06)),
        )
        for epoch, value in zip((50, 100, 150, 200), values)
    ),
)  # fmt: skip

# Sources that compare optimizers on one network: shown as context for any
# study that runs those optimizers, whatever its model.
OPTIMIZER_COMPARISONS = ("padam", "iclr2019_repro")


def setup_differences(result, model, epochs, train_subset=None):
    """How a study's setup differs from a published one; empty when they match.

    Args:
        result: a `PublishedResult`.
        model: the study's model name.
        epochs: the study's number of training epochs.
        train_subset: the study's training subset size, None for the full set.

    Returns:
        A list of short phrases such as ``"model resnet18 vs resnet20"``.
    """
    differences = []
    if result.model != model:
        differences.append(f"model {result.model} vs {model}")
    if not epochs or abs(int(epochs) - result.epochs) > EPOCH_TOLERANCE * result.epochs:
        differences.append(f"{result.epochs} vs {epochs} epochs")
    if train_subset:
        differences.append(f"full training set vs a {train_subset}-image subset")
    return differences
