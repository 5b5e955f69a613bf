"""How much does JPEG compression of the test images cost a trained model?

The CIFAR-10 copy this project trains and tests on was re-encoded as JPEG at
quality 75 (``../shared/datasets/cifar10/README.md``), so its numbers can sit
below those published on the original images. The original images are not
available here, so the first round's cost cannot be measured directly. What
can be measured is how accuracy moves when the (already JPEG-decoded) test
images go through one more round at a given quality: re-encode, decode, and
evaluate the same SavedModel on them.

Read it with care. A second round at the *same* quality (75) on the same
block grid reuses the copy's quantisation and lands on nearly the same
coefficients, so it costs almost nothing and says nothing (measured: 0.02 pp
on the He et al. export). On a grid shifted by a few pixels the same round
quantises afresh: a second helping of damage of the copy's own kind and size
(``results/he2016/README.md`` has the He export's rows). Other qualities
bracket how sensitive a model is to coarser or finer loss. Any figure quoted
for the copy's cost from these rows is an estimate and says so: the model
meets damage it did not train on.

That measures the test images only. The training-time question (how much
does training *and* testing on JPEG-damaged images cost) is answered by
``write_reencoded_copy``: a lossless (PNG) image-folder copy of the copy, every
image through one more JPEG round with the 8x8 block grid shifted by
``shift`` pixels. Shifted, a round at the copy's own quality quantises fresh
coefficients instead of landing back on the copy's, so it is a second
helping of damage of the copy's own kind and size; training on it, paired by
seed with the same runs on the copy, measures what one such helping costs.
"""

import io
import math
import shutil
from pathlib import Path

import numpy as np
from PIL import Image

from keras_resnet_opt.atomic import replace_directory, write_json
from keras_resnet_opt.data import CLASS_NAMES, DataError
from keras_resnet_opt.data.cache import arrays_checksum
from keras_resnet_opt.data.constants import COPY_PROVENANCE as PROVENANCE
from keras_resnet_opt.data.formats import detect_layout, read_layout
from keras_resnet_opt.evaluation import evaluate_saved_model


def check_round(quality, shift=0):
    """Refuse a JPEG round that cannot be made: ``quality`` outside [1, 100] or a
    block-grid ``shift`` outside [0, 7] (the grid repeats every 8 pixels)."""
    if not 1 <= quality <= 100:
        raise ValueError(f"`quality` must be in [1, 100]. Received: quality={quality}")
    if not 0 <= shift <= 7:
        raise ValueError(f"`shift` must be in [0, 7] pixels (the block grid repeats every 8). Received: shift={shift}")


def reencode(images, quality, shift=0):
    """Each uint8 ``[N, H, W, 3]`` image saved as JPEG at ``quality`` (PIL, 4:2:0
    chroma subsampling, its default) and decoded again.

    ``shift`` (0..7) moves JPEG's 8x8 block grid by that many pixels: the image
    is reflect-padded by ``shift`` on every side before encoding and cropped back
    after decoding, so the blocks straddle the old block edges.
    """
    check_round(quality, shift)
    out = np.empty_like(images)
    for i, image in enumerate(images):
        padded = np.pad(image, ((shift, shift), (shift, shift), (0, 0)), mode="reflect") if shift else image
        buffer = io.BytesIO()
        Image.fromarray(padded).save(buffer, format="JPEG", quality=int(quality))
        decoded = np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("RGB"))
        out[i] = decoded[shift:shift + image.shape[0], shift:shift + image.shape[1]]
    return out


def psnr(a, b):
    """Peak signal-to-noise ratio in dB of two uint8 image stacks over all their
    pixels (``inf`` when they are equal): the size of the damage a round did."""
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return math.inf if mse == 0 else 10.0 * math.log10(255.0**2 / mse)


def write_reencoded_copy(data_dir, out_dir, quality, shift, command=None):
    """Write ``out_dir``: the CIFAR-10 copy at ``data_dir`` with every training
    and test image through one more JPEG round (``reencode``), stored losslessly
    as ``train|test/<class>/NNNN.png`` in the source's order, so the project's
    loader reads it like any image-folder copy and a run on it sees the same
    validation split, data order and augmentation as the same seed on the source.

    Beside the images, ``PROVENANCE.json`` records the source, its checksum, the
    round's quality and shift, the command, and the damage the round did (PSNR
    against the source, per split). The folder appears whole or not at all.

    Returns:
        The provenance dict.

    Raises:
        DataError: ``out_dir`` already exists (pick another, or delete it), or
            the source is missing or unreadable.
    """
    out_dir = Path(out_dir)
    check_round(quality, shift)  # before decoding 60,000 images
    if out_dir.exists():
        raise DataError(f"{str(out_dir)!r} already exists; pass a new folder or delete that one first.")
    try:
        layout, root = detect_layout(data_dir)
    except DataError:
        raise DataError(
            f"{str(data_dir)!r} holds no CIFAR-10 copy: expected cifar-10-batches-py, cifar-10-batches-bin, or "
            "train/ and test/ folders of class sub-folders. Point the source at one (e.g. ../shared/datasets/cifar10)."
        ) from None
    if layout != "image-folder":
        # The copy is written (and read back) class by class; only an image-folder source is already in that order.
        raise DataError(
            f"{str(data_dir)!r} is a {layout} copy; write the re-encoded copy from an image-folder copy, whose order "
            "it keeps (a batch-file copy would come back grouped by class: another split and data order)."
        )
    arrays = read_layout(layout, root)
    partial = out_dir.with_name(f".{out_dir.name}.partial")
    shutil.rmtree(partial, ignore_errors=True)
    damage = {}
    for split, (images, labels) in arrays.items():
        redone = reencode(images, quality, shift)
        damage[split] = {"psnr_db": round(psnr(images, redone), 3),
                         "mean_abs_error": round(float(np.abs(images.astype(int) - redone.astype(int)).mean()), 4)}
        for label, name in enumerate(CLASS_NAMES):
            class_dir = partial / split / name
            class_dir.mkdir(parents=True)
            for index, image in enumerate(redone[labels == label]):
                Image.fromarray(image).save(class_dir / f"{index:04d}.png")
    provenance = {
        "source": f"{layout}:{root.resolve()}",
        "source_checksum": arrays_checksum(arrays),
        "jpeg_quality": int(quality),
        "grid_shift_px": int(shift),
        "stored_as": "PNG (lossless)",
        "damage_against_source": damage,
        "command": command,
    }
    write_json(partial / PROVENANCE, provenance)
    replace_directory(partial, out_dir)
    return provenance


def accuracy_under_reencoding(saved_model, images, labels, qualities=(95, 75, 50), shifts=(0,), batch_size=1000):
    """``[{"quality", "shift", "psnr_db", "accuracy", "drop_pp"}]``: the SavedModel's
    test accuracy on the images as given (quality and shift None) and after one
    more JPEG round at each (quality, shift), with the round's damage (PSNR
    against the images as given) and the drop in percentage points against the
    first row.

    ``shifts`` moves the block grid (``reencode``): a round at the copy's own
    quality 75 with shift 0 lands back on the copy's coefficients and measures
    nothing, so the informative q75 row is a shifted one, the same damage the
    training-time copy (``write_reencoded_copy``) applies to every image.
    """
    for shift in shifts:  # bad settings refused before the first (slow) evaluation
        for quality in qualities:
            check_round(quality, shift)
    base = evaluate_saved_model(saved_model, images, labels, batch_size=batch_size).accuracy
    rows = [{"quality": None, "shift": None, "psnr_db": None, "accuracy": base, "drop_pp": 0.0}]
    for shift in shifts:
        for quality in qualities:
            redone = reencode(images, quality, shift)
            accuracy = evaluate_saved_model(saved_model, redone, labels, batch_size=batch_size).accuracy
            rows.append({"quality": int(quality), "shift": int(shift), "psnr_db": round(psnr(images, redone), 2),
                         "accuracy": accuracy, "drop_pp": round(100.0 * (base - accuracy), 2)})
    return rows
