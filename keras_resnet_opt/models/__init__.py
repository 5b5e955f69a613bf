"""Model zoo: He et al.'s CIFAR ResNets and the Padam paper's ResNet-18.

``build_model("resnet20")`` is the one entry point the rest of the package
uses; names are ``resnet<6n+2>`` (resnet8 for tests, resnet20 ... resnet110)
and ``resnet18``. The builders are imported on first use, so that checking a
model name (``models.names``) does not load Keras.
"""

from keras_resnet_opt.models.names import cifar_depth, model_names

__all__ = ["build_model", "model_names", "register_custom_layers", "resnet18", "resnet_cifar"]


def __getattr__(name):
    if name == "resnet18":
        from keras_resnet_opt.models.resnet18 import resnet18

        return resnet18
    if name == "resnet_cifar":
        from keras_resnet_opt.models.resnet_cifar import resnet_cifar

        return resnet_cifar
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def register_custom_layers():
    """Import the modules whose layers `.keras` files refer to (ZeroPadShortcut)."""
    import keras_resnet_opt.models.resnet_cifar  # noqa: F401


def build_model(name, num_classes=10, input_shape=(32, 32, 3), **kwargs):
    """Build a model by name; kwargs go to the family's builder.

    Raises:
        ValueError: the name is not a known model, listing the valid ones.
    """
    depth = cifar_depth(name)
    if depth is None:
        from keras_resnet_opt.models.resnet18 import resnet18

        return resnet18(num_classes=num_classes, input_shape=input_shape, **kwargs)
    from keras_resnet_opt.models.resnet_cifar import resnet_cifar

    return resnet_cifar(depth, num_classes=num_classes, input_shape=input_shape, **kwargs)
