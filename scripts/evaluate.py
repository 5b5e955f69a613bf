"""``python scripts/evaluate.py`` is the installed ``kro-evaluate`` command: keras_resnet_opt/cli/evaluate.py."""

from keras_resnet_opt.cli.evaluate import main

if __name__ == "__main__":
    raise SystemExit(main())
