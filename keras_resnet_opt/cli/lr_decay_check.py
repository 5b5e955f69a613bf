"""``kro-lr-decay-check`` (``python scripts/lr_decay_check.py``): per-batch train loss around the lr decay
for Keras' and the reference form of SGD-momentum.

    kro-lr-decay-check --data-dir ../shared/datasets/cifar10 --output-dir results/lr-decay

Trains cpu-quick ResNet-20 (sgdm, seed 0) for 5 epochs three ways: the registry's
sgdm (heavy-ball, raw-gradient velocity), Keras' SGD(momentum=0.9), and sgdm at a
constant lr. Rerun to resume. The experiment itself is `run_check`.
"""

import dataclasses
import json
import sys

from keras_resnet_opt.cli.common import (
    EXIT_ERROR,
    EXIT_OK,
    add_data_dir,
    fail,
    make_parser,
    positive_int,
    quiet_tensorflow,
)
from keras_resnet_opt.config import preset_names

EXIT_CODES = {EXIT_OK: "the check finished; its summary is printed as JSON", EXIT_ERROR: "an unexpected error"}


def build_parser():
    p = make_parser(
        "Per-batch train loss around the lr decay for Keras' and the reference form of SGD-momentum: the "
        "registry's sgdm, Keras' SGD(momentum=0.9) and sgdm at a constant lr. Rerun to resume.",
        EXIT_CODES,
    )
    add_data_dir(p)
    p.add_argument("--output-dir", default="results/lr-decay", help="where the per-batch losses and summary go")
    p.add_argument("--epochs", type=positive_int, default=5, help="epochs per variant; cpu-quick decays after epoch 4")
    p.add_argument("--seed", type=int, default=0, help="the runs' seed")
    p.add_argument(
        "--preset", default="cpu-quick", choices=preset_names(), help="any preset with a step decay (tests use smoke)"
    )
    return p


def main(argv=None):
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    quiet_tensorflow()
    from keras_resnet_opt.experiments.lr_decay_check import run_check  # TensorFlow: not for --help

    try:
        summary = run_check(args.data_dir, args.output_dir, args.epochs, args.seed, args.preset)
    except (ValueError, FileNotFoundError) as e:
        fail(str(e))
    print(json.dumps(dataclasses.asdict(summary), indent=2))
    return EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())
