"""Published parameter counts, shapes, naming, serialization, and a tiny model that learns."""

import keras
import numpy as np
import pytest

from keras_resnet_opt.models import build_model, resnet18, resnet_cifar


def trainable_params(model):
    return sum(int(np.prod(v.shape)) for v in model.trainable_variables)


# He et al. 2016, Table 6 (option A shortcuts): 0.27M, 0.46M, 0.66M, 0.85M, 1.7M.
@pytest.mark.parametrize(
    "depth,published_millions,tolerance",
    [(20, 0.27, 0.005), (32, 0.46, 0.005), (44, 0.66, 0.005), (56, 0.85, 0.01), (110, 1.7, 0.05)],
)
def test_he2016_parameter_counts(depth, published_millions, tolerance):
    model = resnet_cifar(depth)
    assert abs(trainable_params(model) / 1e6 - published_millions) <= tolerance


def test_resnet20_exact_count():
    # 3x3 convs + BN + dense, option A has no shortcut parameters.
    assert trainable_params(resnet_cifar(20)) == 269_722


def test_grouped_batch_norm_starts_from_the_same_weights():
    # A --bn-groups run pairs by seed with a plain one: the grouping changes the statistics, not the weights.
    def initial(groups):
        keras.utils.set_random_seed(0)
        return resnet_cifar(20, bn_groups=groups).weights

    plain, grouped = initial(1), initial(2)
    assert [v.path for v in plain] == [v.path for v in grouped]
    assert all(np.array_equal(a.numpy(), b.numpy()) for a, b in zip(plain, grouped))


def test_resnet18_parameter_count():
    # The Padam paper's ResNet-18 on CIFAR-10: about 11.2M (11,173,962).
    assert trainable_params(resnet18()) == 11_173_962


def test_option_b_adds_projections():
    assert trainable_params(resnet_cifar(20, shortcut="B")) > trainable_params(resnet_cifar(20))


def test_output_is_probabilities_of_raw_pixels():
    model = resnet_cifar(8)
    images = np.random.default_rng(0).integers(0, 256, (3, 32, 32, 3)).astype("float32")
    probs = model.predict(images, verbose=0)
    assert probs.shape == (3, 10)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)


def test_every_layer_named_and_unique():
    model = resnet_cifar(8)
    names = [layer.name for layer in model.layers]
    assert len(names) == len(set(names))
    assert "stem_conv" in names and "stage3_block1_shortcut" in names


def test_bad_arguments():
    with pytest.raises(ValueError, match="6n\\+2"):
        resnet_cifar(21)
    with pytest.raises(ValueError, match="shortcut"):
        resnet_cifar(20, shortcut="C")
    with pytest.raises(ValueError, match="Unknown model.*resnet20"):
        build_model("vgg16")


def test_keras_file_round_trip_in_safe_mode(tmp_path):
    model = build_model("resnet8")
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)  # safe_mode=True: no Lambda layers allowed
    x = np.random.default_rng(1).integers(0, 256, (2, 32, 32, 3)).astype("float32")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-5)


def test_tiny_resnet_loss_falls():
    from keras_resnet_opt.data.synthetic import synthetic_arrays

    keras.utils.set_random_seed(0)
    x, y = synthetic_arrays(128)
    model = resnet_cifar(8)
    model.compile(optimizer=keras.optimizers.SGD(0.05, momentum=0.9), loss="sparse_categorical_crossentropy")
    history = model.fit(x.astype("float32"), y, batch_size=32, epochs=4, verbose=0)
    losses = history.history["loss"]
    assert losses[-1] < 0.7 * losses[0]


@pytest.mark.real_data
def test_real_cifar10_copy_loads():
    from conftest import REAL_DATA_DIR

    from keras_resnet_opt.data import load_cifar10

    if not REAL_DATA_DIR.is_dir():
        pytest.skip(f"real CIFAR-10 copy not found at {REAL_DATA_DIR}")
    data = load_cifar10(REAL_DATA_DIR)
    assert (len(data.train[0]), len(data.val[0]), len(data.test[0])) == (45_000, 5_000, 10_000)
    assert np.all(np.bincount(data.test[1]) == 1000)
    assert np.all(np.bincount(data.val[1]) == 500)
