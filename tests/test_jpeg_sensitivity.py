"""JPEG re-encoding: lossy but close at high quality, lossier at low quality, shape and dtype kept; a
shifted block grid damages afresh; the re-encoded copy loads in the source's order."""

import json
from types import SimpleNamespace

import numpy as np
import pytest

from keras_resnet_opt.data import DataError, load_cifar10
from keras_resnet_opt.data.synthetic import write_synthetic_cifar10
from keras_resnet_opt.jpeg_sensitivity import PROVENANCE, psnr, reencode, write_reencoded_copy


def test_reencoding_loses_more_at_lower_quality():
    rng = np.random.default_rng(0)
    # Smooth images (a gradient plus mild noise), the kind JPEG keeps well.
    ramp = np.linspace(0, 200, 32, dtype=np.float32)
    base = ramp[None, :, None, None] + ramp[None, None, :, None] * 0.2 + rng.normal(0, 3, size=(4, 32, 32, 3))
    images = np.clip(base, 0, 255).astype(np.uint8)
    errors = {}
    for quality in (95, 50, 10):
        out = reencode(images, quality)
        assert out.shape == images.shape and out.dtype == np.uint8
        errors[quality] = float(np.abs(out.astype(int) - images.astype(int)).mean())
    assert 0 < errors[95] < errors[50] < errors[10]


def test_quality_out_of_range_is_refused():
    with pytest.raises(ValueError, match=r"must be in \[1, 100\]"):
        reencode(np.zeros((1, 32, 32, 3), np.uint8), 0)


def _textured(n=6, seed=0):
    rng = np.random.default_rng(seed)
    ramp = np.linspace(0, 200, 32)
    base = ramp[None, :, None, None] + ramp[None, None, :, None] * 0.2 + rng.normal(0, 12, size=(n, 32, 32, 3))
    return np.clip(base, 0, 255).astype(np.uint8)


def test_a_shifted_round_damages_a_jpeg_image_afresh_where_an_aligned_one_does_not():
    once = reencode(_textured(), 75)
    aligned, shifted = reencode(once, 75), reencode(once, 75, shift=4)
    assert shifted.shape == once.shape and shifted.dtype == np.uint8
    # Same quality, same grid: the same quantisation again, nothing (or next to nothing) lost.
    assert psnr(once, aligned) > 45
    # Grid moved by half a block: a fresh round, of the size of the first.
    assert psnr(once, shifted) < 40
    assert psnr(once, once) == float("inf")


def test_shift_out_of_range_is_refused():
    with pytest.raises(ValueError, match=r"`shift` must be in \[0, 7\]"):
        reencode(np.zeros((1, 32, 32, 3), np.uint8), 75, shift=8)


def test_the_reencoded_copy_loads_in_the_source_order_with_the_rounds_pixels(tmp_path):
    source = write_synthetic_cifar10(tmp_path / "src", "image-folder", train_per_batch=10, test_size=10)
    provenance = write_reencoded_copy(source, tmp_path / "copy", quality=75, shift=4, command="cmd")
    original, copy = load_cifar10(source, val_size=0), load_cifar10(tmp_path / "copy", val_size=0)
    for split in ("train", "test"):
        (x0, y0), (x1, y1) = getattr(original, split), getattr(copy, split)
        np.testing.assert_array_equal(y1, y0)
        np.testing.assert_array_equal(x1, reencode(x0, 75, shift=4))  # stored losslessly
        assert provenance["damage_against_source"][split]["psnr_db"] == round(psnr(x0, x1), 3)
    assert provenance["source_checksum"] == original.checksum
    assert (provenance["jpeg_quality"], provenance["grid_shift_px"], provenance["command"]) == (75, 4, "cmd")
    assert json.loads((tmp_path / "copy" / PROVENANCE).read_text()) == provenance
    assert not list(tmp_path.glob(".copy*"))  # no partial folder left behind


def test_the_copy_refuses_an_existing_destination_and_a_folder_without_data(tmp_path):
    source = write_synthetic_cifar10(tmp_path / "src", "image-folder", train_per_batch=10, test_size=10)
    (tmp_path / "taken").mkdir()
    with pytest.raises(DataError, match="already exists"):
        write_reencoded_copy(source, tmp_path / "taken", 75, 4)
    binary = write_synthetic_cifar10(tmp_path / "bin", "binary", train_per_batch=10, test_size=10)
    with pytest.raises(DataError, match="is a binary copy; write the re-encoded copy from an image-folder copy"):
        write_reencoded_copy(binary, tmp_path / "out", 75, 4)
    with pytest.raises(ValueError, match=r"`shift` must be in \[0, 7\]"):
        write_reencoded_copy(source, tmp_path / "out", 75, 9)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="holds no CIFAR-10 copy"):
        write_reencoded_copy(tmp_path / "empty", tmp_path / "out", 75, 4)
    assert not (tmp_path / "out").exists()


def test_the_copy_command_prints_its_provenance_and_refuses_bad_input(tmp_path, capsys):
    from keras_resnet_opt.cli.jpeg_copy import main

    source = write_synthetic_cifar10(tmp_path / "src", "image-folder", train_per_batch=10, test_size=10)
    assert main([str(source), str(tmp_path / "copy"), "--quality", "60", "--shift", "3"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert (printed["jpeg_quality"], printed["grid_shift_px"]) == (60, 3)
    assert printed["command"].startswith("python scripts/jpeg_copy.py ")
    with pytest.raises(SystemExit) as exit_info:
        main([str(source), str(tmp_path / "copy")])
    assert exit_info.value.code == 2
    assert "already exists" in capsys.readouterr().err


def test_sensitivity_rows_carry_each_rounds_damage_and_accuracy_drop(monkeypatch):
    import keras_resnet_opt.jpeg_sensitivity as js

    images = np.random.default_rng(0).integers(0, 256, (6, 16, 16, 3), dtype=np.uint8)
    clean = images.copy()

    def fake_evaluate(saved_model, batch, labels, batch_size):
        # A "model" right on exactly the untouched images: accuracy = share unchanged.
        return SimpleNamespace(accuracy=float(np.mean([np.array_equal(a, b) for a, b in zip(batch, clean)])))

    monkeypatch.setattr(js, "evaluate_saved_model", fake_evaluate)
    rows = js.accuracy_under_reencoding("model", images, np.zeros(6), qualities=(90, 40), shifts=(0, 4))
    assert [(r["quality"], r["shift"]) for r in rows] == [(None, None), (90, 0), (40, 0), (90, 4), (40, 4)]
    assert rows[0] == {"quality": None, "shift": None, "psnr_db": None, "accuracy": 1.0, "drop_pp": 0.0}
    assert all(r["accuracy"] == 0.0 and r["drop_pp"] == 100.0 for r in rows[1:])
    assert rows[2]["psnr_db"] < rows[1]["psnr_db"]  # quality 40 damages more than 90
    assert rows[3]["psnr_db"] == round(js.psnr(clean, js.reencode(clean, 90, 4)), 2)
    json.dumps(rows, allow_nan=False)  # the command prints strict JSON


def test_sensitivity_refuses_a_bad_setting_before_evaluating(monkeypatch):
    import keras_resnet_opt.jpeg_sensitivity as js

    monkeypatch.setattr(js, "evaluate_saved_model", lambda *a, **k: pytest.fail("evaluated before checking"))
    images = np.zeros((2, 8, 8, 3), np.uint8)
    with pytest.raises(ValueError, match="shift"):
        js.accuracy_under_reencoding("model", images, np.zeros(2), qualities=(75,), shifts=(0, 8))


def test_sensitivity_command_names_a_bad_list(capsys):
    from keras_resnet_opt.cli.jpeg_sensitivity import main

    with pytest.raises(SystemExit) as exit_info:
        main(["model", "--shifts", "0,four"])
    assert exit_info.value.code == 2
    assert "--shifts takes comma-separated integers" in capsys.readouterr().err
