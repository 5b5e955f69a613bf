"""JPEG re-encoding: lossy but close at high quality, lossier at low quality, shape and dtype kept."""

import numpy as np
import pytest

from keras_resnet_opt.jpeg_sensitivity import reencode


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
