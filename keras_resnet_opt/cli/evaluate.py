"""``kro-evaluate SAVED_MODEL`` (``python scripts/evaluate.py``): test-set accuracy from an export alone."""

import json
import sys

from keras_resnet_opt.cli.common import (
    EXIT_ERROR,
    EXIT_OK,
    add_data_dir,
    fail,
    import_tensorflow_quietly,
    make_parser,
    positive_int,
    show_warnings_as_lines,
)

EXIT_CODES = {EXIT_OK: "evaluated", EXIT_ERROR: "an unexpected error"}


def build_parser():
    p = make_parser("Evaluate an exported SavedModel on the CIFAR-10 test split.", EXIT_CODES)
    p.add_argument("saved_model", help="folder written by kro-train (scripts/train.py) under saved_models/")
    add_data_dir(p)
    p.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    p.add_argument("--confusion-png", metavar="PNG", help="also save the confusion matrix as this PNG (default: none)")
    p.add_argument("--batch-size", type=positive_int, default=1000, help="images per batch")
    return p


def main(argv=None):
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    show_warnings_as_lines()
    import_tensorflow_quietly()
    from keras_resnet_opt.data import CLASS_NAMES, DataError, load_cifar10
    from keras_resnet_opt.evaluation import ModelLoadError, evaluate_saved_model, plot_confusion_matrix

    try:
        from keras_resnet_opt.evaluation import load_serving_model

        load_serving_model(args.saved_model)  # fail fast, before loading data
        data = load_cifar10(args.data_dir, val_size=0)
        result = evaluate_saved_model(args.saved_model, *data.test, batch_size=args.batch_size)
    except (ModelLoadError, DataError) as e:
        fail(str(e))
    if args.confusion_png:
        plot_confusion_matrix(result, args.confusion_png)
    if args.json:
        print(json.dumps({**result.to_dict(), "saved_model": args.saved_model, "data_source": data.source}))
        return EXIT_OK
    print(f"SavedModel {args.saved_model} on {data.source} ({result.num_examples} test images)")
    print(f"accuracy {result.accuracy:.4f}  error {result.error:.4f}")
    print("per-class accuracy:")
    for name in CLASS_NAMES:
        print(f"  {name:<11s} {result.per_class_accuracy[name]:.4f}")
    print("confusion matrix (rows: true, columns: predicted):")
    print("           " + " ".join(f"{n[:5]:>5s}" for n in CLASS_NAMES))
    for name, row in zip(CLASS_NAMES, result.confusion_matrix):
        print(f"{name[:10]:<10s} " + " ".join(f"{v:5d}" for v in row))
    return EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())
