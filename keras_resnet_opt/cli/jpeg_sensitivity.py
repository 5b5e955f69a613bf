"""``kro-jpeg-sensitivity SAVED_MODEL`` (``python scripts/jpeg_sensitivity.py``): test accuracy after one
more JPEG round."""

import json
import sys

from keras_resnet_opt.cli.common import EXIT_ERROR, EXIT_OK, add_data_dir, fail, make_parser

EXIT_CODES = {EXIT_OK: "evaluated; one JSON object printed", EXIT_ERROR: "an unexpected error"}


def build_parser():
    p = make_parser(
        "Evaluate a SavedModel on the test images as given and after re-encoding them as JPEG at "
        "each quality: an estimate of what the JPEG copy of CIFAR-10 costs (keras_resnet_opt/jpeg_sensitivity.py).",
        EXIT_CODES,
    )
    p.add_argument("saved_model", help="an export written by kro-train (scripts/train.py)")
    add_data_dir(p)
    p.add_argument("--qualities", default="95,75,50", help="comma-separated JPEG qualities")
    p.add_argument("--shifts", default="0,4",
                   help="comma-separated block-grid shifts in pixels, 0-7 (a round at the copy's own quality "
                        "changes it only on a shifted grid)")
    return p


def _integers(text, flag):
    try:
        return [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise ValueError(f"{flag} takes comma-separated integers, e.g. {flag} 95,75. Received: {text!r}") from None


def main(argv=None):
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    from keras_resnet_opt.data import DataError, load_cifar10
    from keras_resnet_opt.evaluation import ModelLoadError
    from keras_resnet_opt.jpeg_sensitivity import accuracy_under_reencoding

    try:
        qualities = _integers(args.qualities, "--qualities")
        shifts = _integers(args.shifts, "--shifts")
        data = load_cifar10(args.data_dir, val_size=0)
        rows = accuracy_under_reencoding(args.saved_model, *data.test, qualities=qualities, shifts=shifts)
    except (ModelLoadError, DataError, ValueError) as e:
        fail(str(e))
    print(json.dumps({"saved_model": args.saved_model, "data_source": data.source, "results": rows}))
    return EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())
