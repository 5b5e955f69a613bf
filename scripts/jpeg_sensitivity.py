"""Thin shell over keras_resnet_opt.cli.jpeg_sensitivity; run `python scripts/jpeg_sensitivity.py --help`."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from keras_resnet_opt.cli.jpeg_sensitivity import main  # noqa: E402

if __name__ == "__main__":
    raise SystemExit(main())
