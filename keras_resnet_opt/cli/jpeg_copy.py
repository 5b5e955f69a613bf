"""``kro-jpeg-copy SRC DST`` (``python scripts/jpeg_copy.py``): a copy of CIFAR-10 with every image through one
more JPEG round, stored losslessly, to train on and measure what JPEG damage costs."""

import json
import shlex
import sys

from keras_resnet_opt.cli.common import EXIT_BAD_INPUT, EXIT_OK, fail, make_parser

EXIT_CODES = {
    EXIT_OK: "written; its PROVENANCE.json printed",
    EXIT_BAD_INPUT: "bad input: the source is missing or unreadable, DST exists, or a value is out of range",
}


def build_parser():
    p = make_parser(
        "Write DST, an image-folder copy of the CIFAR-10 copy at SRC with every training and test image "
        "re-encoded once more as JPEG (block grid shifted by --shift pixels) and stored as PNG, in SRC's order. "
        "Train on it with --data-dir DST; see keras_resnet_opt/jpeg_sensitivity.py for what it measures.",
        EXIT_CODES,
    )
    p.add_argument("source", help="a CIFAR-10 copy in any layout the loader reads (e.g. ../shared/datasets/cifar10)")
    p.add_argument("destination", help="the folder to write; must not exist")
    p.add_argument("--quality", type=int, default=75, help="JPEG quality of the extra round, 1..100")
    p.add_argument("--shift", type=int, default=4, help="pixels (0..7) to move the 8x8 block grid by")
    return p


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser().parse_args(argv)
    from keras_resnet_opt.data import DataError
    from keras_resnet_opt.jpeg_sensitivity import write_reencoded_copy

    command = shlex.join(["python", "scripts/jpeg_copy.py", *argv])
    try:
        provenance = write_reencoded_copy(args.source, args.destination, args.quality, args.shift, command=command)
    except (DataError, ValueError) as e:
        fail(str(e))
    print(json.dumps(provenance))
    return EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())
