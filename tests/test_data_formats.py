"""Every on-disk layout, the cache, and the errors bad data gets."""

import pickle

import numpy as np
import pytest

from keras_resnet_opt.data import CLASS_NAMES, DataError, load_cifar10
from keras_resnet_opt.data.synthetic import synthetic_arrays, write_synthetic_cifar10


@pytest.mark.parametrize("layout", ["binary", "python-pickle", "image-folder"])
def test_each_layout_reads_the_same_pixels(tmp_path, layout):
    root = write_synthetic_cifar10(tmp_path / layout, layout, train_per_batch=20, test_size=30)
    data = load_cifar10(root, val_size=0)
    assert data.source.startswith(layout)
    x_train, y_train = data.train
    x_test, y_test = data.test
    assert x_train.shape == (100, 32, 32, 3) and x_train.dtype == np.uint8
    assert x_test.shape == (30, 32, 32, 3)
    assert y_train.dtype == np.int64 and set(np.unique(y_train)) == set(range(10))
    expected_test = synthetic_arrays(30, seed=99)
    if layout == "image-folder":  # files are read class by class
        order = np.argsort(expected_test[1], kind="stable")
        expected_test = (expected_test[0][order], expected_test[1][order])
    np.testing.assert_array_equal(y_test, expected_test[1])
    np.testing.assert_array_equal(x_test, expected_test[0])


def test_layout_found_one_level_down(tmp_path):
    write_synthetic_cifar10(tmp_path / "cifar-10-batches-py", "python-pickle", train_per_batch=10, test_size=10)
    assert load_cifar10(tmp_path, val_size=0).source.startswith("python-pickle")


def test_cache_is_reused_then_rebuilt_when_corrupt(tmp_path, isolated_cache, monkeypatch):
    root = write_synthetic_cifar10(tmp_path / "bin", "binary", train_per_batch=10, test_size=10)
    first = load_cifar10(root, val_size=0)
    cached = list(isolated_cache.glob("*.npz"))
    assert len(cached) == 1
    # A second call must not decode the source again.
    from keras_resnet_opt.data import formats

    def no_decode(*_):
        raise AssertionError("decoded again although the cache is valid")

    monkeypatch.setattr(formats, "read_layout", no_decode)
    second = load_cifar10(root, val_size=0)
    assert second.checksum == first.checksum
    monkeypatch.undo()
    monkeypatch.setenv("KERAS_RESNET_OPT_CACHE", str(isolated_cache))
    cached[0].write_bytes(cached[0].read_bytes()[:1000])  # truncate: corrupt
    with pytest.warns(UserWarning, match="corrupt"):
        third = load_cifar10(root, val_size=0)
    assert third.checksum == first.checksum
    np.testing.assert_array_equal(third.train[0], first.train[0])


def test_changed_source_invalidates_cache(tmp_path, isolated_cache):
    root = write_synthetic_cifar10(tmp_path / "bin", "binary", train_per_batch=10, test_size=10)
    first = load_cifar10(root, val_size=0)
    write_synthetic_cifar10(root, "binary", train_per_batch=10, test_size=10, seed=7)
    second = load_cifar10(root, val_size=0)
    assert second.checksum != first.checksum
    assert len(list(isolated_cache.glob("*.npz"))) == 2


def test_cache_never_written_into_data_dir(tmp_path):
    root = write_synthetic_cifar10(tmp_path / "bin", "binary", train_per_batch=10, test_size=10)
    before = sorted(p.name for p in root.iterdir())
    load_cifar10(root, val_size=0)
    assert sorted(p.name for p in root.iterdir()) == before


def test_missing_directory(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        load_cifar10(tmp_path / "nope")


def test_empty_directory(tmp_path):
    with pytest.raises(DataError, match="No CIFAR-10 layout"):
        load_cifar10(tmp_path)


def test_missing_batch_file(tmp_path):
    root = write_synthetic_cifar10(tmp_path / "bin", "binary", train_per_batch=10, test_size=10)
    (root / "test_batch.bin").unlink()
    with pytest.raises(DataError, match="test_batch.bin"):
        load_cifar10(root)


def test_truncated_binary_batch(tmp_path):
    root = write_synthetic_cifar10(tmp_path / "bin", "binary", train_per_batch=10, test_size=10)
    path = root / "data_batch_3.bin"
    path.write_bytes(path.read_bytes()[:-5])
    with pytest.raises(DataError, match="data_batch_3.bin.*truncated"):
        load_cifar10(root)


def test_hostile_pickle_is_refused(tmp_path):
    root = write_synthetic_cifar10(tmp_path / "py", "python-pickle", train_per_batch=10, test_size=10)
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            import os

            return (os.system, (f"touch {marker}",))

    (root / "data_batch_2").write_bytes(pickle.dumps(Evil(), protocol=2))
    with pytest.raises(DataError, match="data_batch_2.*refusing"):
        load_cifar10(root)
    assert not marker.exists()


def test_unknown_class_folder(tmp_path):
    root = write_synthetic_cifar10(tmp_path / "img", "image-folder", train_per_batch=10, test_size=10)
    (root / "train" / "unicorn").mkdir()
    with pytest.raises(DataError, match="unicorn"):
        load_cifar10(root)


def test_missing_split_folder(tmp_path):
    root = write_synthetic_cifar10(tmp_path / "img", "image-folder", train_per_batch=10, test_size=10)
    import shutil

    shutil.rmtree(root / "test")
    with pytest.raises(DataError, match="test"):
        load_cifar10(root)


def test_unreadable_and_wrong_size_images(tmp_path):
    root = write_synthetic_cifar10(tmp_path / "img", "image-folder", train_per_batch=10, test_size=10)
    bad = root / "train" / CLASS_NAMES[0] / "broken.png"
    bad.write_bytes(b"not a png")
    with pytest.raises(DataError, match="broken.png"):
        load_cifar10(root)
    bad.unlink()
    from PIL import Image

    big = root / "test" / CLASS_NAMES[1] / "big.png"
    Image.new("RGB", (64, 64)).save(big)
    with pytest.raises(DataError, match="big.png.*shape"):
        load_cifar10(root)


def test_tfds_failure_explains_local_copy(monkeypatch):
    import tensorflow_datasets as tfds

    def offline(*args, **kwargs):
        raise ConnectionError("no network")

    monkeypatch.setattr(tfds, "load", offline)
    with pytest.raises(DataError, match="--data-dir.*manual_dir"):
        load_cifar10(None)


def test_tfds_source_with_mock_data():
    import tensorflow_datasets as tfds

    with tfds.testing.mock_data(num_examples=40):
        data = load_cifar10(None, val_size=10)
    assert data.source == "tfds:cifar10"
    assert len(data.train[0]) == 30 and len(data.val[0]) == 10
    assert data.train[0].dtype == np.uint8 and data.train[0].shape[1:] == (32, 32, 3)


def test_garbage_cache_is_called_corrupt_and_rebuilt(tmp_path, isolated_cache):
    root = write_synthetic_cifar10(tmp_path / "bin", "binary", train_per_batch=10, test_size=10)
    first = load_cifar10(root, val_size=0)
    cached = next(isolated_cache.glob("*.npz"))
    cached.write_bytes(b"not a zip at all, nor an array" * 40)
    with pytest.warns(UserWarning) as record:
        again = load_cifar10(root, val_size=0)
    messages = [str(w.message) for w in record]
    assert any("is corrupt, rebuilding it" in m and str(cached) in m for m in messages)
    assert not any("allow_pickle" in m for m in messages)  # numpy's wording is no help here
    assert again.checksum == first.checksum


def test_a_missing_folder_from_the_environment_names_the_variable(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_RESNET_OPT_DATA_DIR", str(tmp_path / "gone"))
    with pytest.raises(DataError, match="gone.*from KERAS_RESNET_OPT_DATA_DIR.*Set KERAS_RESNET_OPT_DATA_DIR.*unset"):
        load_cifar10(None)
    with pytest.raises(DataError, match="from --data-dir.*Pass --data-dir"):
        load_cifar10(str(tmp_path / "gone"))


def _offline_tfds(monkeypatch, calls):
    """TFDS with nothing prepared and no network: the download would retry for minutes."""
    import socket

    import tensorflow_datasets as tfds

    def load(*args, download=True, **kwargs):
        calls.append(download)
        if not download:
            raise AssertionError("Dataset cifar10: could not find data in /nowhere.")
        raise ConnectionError("gave up after 10 retries")

    def no_dns(*args, **kwargs):
        raise socket.gaierror(-2, "Name or service not known")

    monkeypatch.setattr(tfds, "load", load)
    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    for name in ("https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)


def test_offline_tfds_fails_without_trying_to_download(tmp_path, monkeypatch):
    calls = []
    _offline_tfds(monkeypatch, calls)
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path / "tfds"))
    with pytest.raises(
        DataError, match="not prepared in .*tfds.*www.cs.toronto.edu cannot be resolved.*--data-dir.*manual_dir"
    ):
        load_cifar10(None)
    assert calls == [False]  # the prepared copy was looked for; no download was started


def test_behind_a_proxy_the_download_is_left_to_tfds(tmp_path, monkeypatch):
    calls = []
    _offline_tfds(monkeypatch, calls)
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path / "tfds"))
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.invalid:3128")
    with pytest.raises(DataError, match="ConnectionError: gave up"):
        load_cifar10(None)
    assert calls == [False, True]
