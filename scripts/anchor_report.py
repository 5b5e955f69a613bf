"""Thin shell over keras_resnet_opt.cli.anchor; run `python scripts/anchor_report.py --help`."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from keras_resnet_opt.cli.anchor import main  # noqa: E402

if __name__ == "__main__":
    raise SystemExit(main())
