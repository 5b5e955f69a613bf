"""Per-batch train loss around the lr decay for Keras' and the reference form of SGD-momentum.

    python scripts/lr_decay_check.py --data-dir ../shared/datasets/cifar10 --output-dir results/lr-decay

Trains cpu-quick ResNet-20 (sgdm, seed 0) for 5 epochs three ways: the registry's
sgdm (heavy-ball, raw-gradient velocity), Keras' SGD(momentum=0.9), and sgdm at a
constant lr. Rerun to resume. All logic lives in keras_resnet_opt.training.lr_decay_check.
"""

import argparse
import dataclasses
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from keras_resnet_opt.cli.common import fail, quiet_tensorflow  # noqa: E402


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", help="CIFAR-10 copy (default: TFDS)")
    p.add_argument("--output-dir", default="results/lr-decay")
    p.add_argument("--epochs", type=int, default=5, help="cpu-quick decays after epoch 4 (default: 5)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--preset", default="cpu-quick", help="any preset with a step decay (tests use smoke)")
    args = p.parse_args(argv)
    quiet_tensorflow()
    from keras_resnet_opt.training.lr_decay_check import run_check

    try:
        summary = run_check(args.data_dir, args.output_dir, args.epochs, args.seed, args.preset)
    except (ValueError, FileNotFoundError) as e:
        fail(str(e))
    print(json.dumps(dataclasses.asdict(summary), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
