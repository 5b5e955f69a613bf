"""Model names, checked without importing Keras (configs validate them up front)."""

import re

_CIFAR_DEPTH = re.compile(r"^resnet(\d+)$")


def model_names():
    """The model names shown in help texts (any resnet<6n+2> is accepted too)."""
    return ["resnet20", "resnet32", "resnet44", "resnet56", "resnet110", "resnet18"]


def cifar_depth(name):
    """Depth of a He et al. CIFAR ResNet name (``resnet20`` -> 20), None for resnet18.

    Raises:
        ValueError: the name is not a known model, listing the valid ones.
    """
    if name == "resnet18":
        return None
    match = _CIFAR_DEPTH.match(name or "")
    if match and int(match.group(1)) >= 8 and (int(match.group(1)) - 2) % 6 == 0:
        return int(match.group(1))
    raise ValueError(
        f"Unknown model {name!r}. Valid models: {', '.join(model_names())} "
        "(or any resnet<6n+2>, e.g. resnet8)."
    )
