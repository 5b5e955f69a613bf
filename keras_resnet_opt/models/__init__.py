"""Model zoo: He et al.'s CIFAR ResNets and the Padam paper's ResNet-18.

``build_model("resnet20")`` is the one entry point the rest of the package
uses; names are ``resnet<6n+2>`` (resnet8 for tests, resnet20 ... resnet110)
and ``resnet18`` (checked by ``keras_resnet_opt.model_names``, which does not
load Keras, so configs can validate names cheaply).
"""

from keras_resnet_opt.model_names import cifar_depth, model_names
from keras_resnet_opt.models.resnet18 import resnet18
from keras_resnet_opt.models.resnet_cifar import ZeroPadShortcut, resnet_cifar

__all__ = ["ZeroPadShortcut", "build_model", "model_names", "resnet18", "resnet_cifar"]


def build_model(name, num_classes=10, input_shape=(32, 32, 3), **kwargs):
    """Build a model by name; kwargs go to the family's builder.

    Raises:
        ValueError: the name is not a known model, listing the valid ones.
    """
    depth = cifar_depth(name)
    if depth is None:
        return resnet18(num_classes=num_classes, input_shape=input_shape, **kwargs)
    return resnet_cifar(depth, num_classes=num_classes, input_shape=input_shape, **kwargs)
