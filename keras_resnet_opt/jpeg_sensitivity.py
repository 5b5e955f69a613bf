"""How much does JPEG compression of the test images cost a trained model?

The CIFAR-10 copy this project trains and tests on was re-encoded as JPEG at
quality 75 (``../shared/datasets/cifar10/README.md``), so its numbers can sit
below those published on the original images. The original images are not
available here, so the first round's cost cannot be measured directly. What
can be measured is how accuracy moves when the (already JPEG-decoded) test
images go through one more round at a given quality: re-encode, decode, and
evaluate the same SavedModel on them.

Read it with care. A second round at the *same* quality (75) reuses the same
quantisation tables and lands on nearly the same coefficients, so it costs
almost nothing and says nothing about the first round (measured: 0.00 pp on
the cpu-quick Padam example). The informative rows are the other qualities:
how much accuracy a round at 50 takes away, and whether a round at 95 (which
adds little loss of its own) moves it at all, bracket how sensitive the model
is to JPEG loss of the size the copy has. Any figure quoted for the copy's
cost is an estimate from that bracket and says so.
"""

import io

import numpy as np
from PIL import Image

from keras_resnet_opt.evaluation import evaluate_saved_model


def reencode(images, quality):
    """Each uint8 ``[N, 32, 32, 3]`` image saved as JPEG at ``quality`` (PIL, 4:2:0
    chroma subsampling, its default) and decoded again."""
    if not 1 <= quality <= 100:
        raise ValueError(f"`quality` must be in [1, 100]. Received: quality={quality}")
    out = np.empty_like(images)
    for i, image in enumerate(images):
        buffer = io.BytesIO()
        Image.fromarray(image).save(buffer, format="JPEG", quality=int(quality))
        out[i] = np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("RGB"))
    return out


def accuracy_under_reencoding(saved_model, images, labels, qualities=(95, 75, 50), batch_size=1000):
    """``[{"quality": q or None, "accuracy": a, "drop_pp": ...}]``: the SavedModel's test
    accuracy on the images as given (quality None) and after one more JPEG round
    at each quality, with the drop in percentage points against the first."""
    base = evaluate_saved_model(saved_model, images, labels, batch_size=batch_size).accuracy
    rows = [{"quality": None, "accuracy": base, "drop_pp": 0.0}]
    for quality in qualities:
        accuracy = evaluate_saved_model(saved_model, reencode(images, quality), labels, batch_size=batch_size).accuracy
        rows.append({"quality": int(quality), "accuracy": accuracy, "drop_pp": round(100.0 * (base - accuracy), 2)})
    return rows
