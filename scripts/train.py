"""``python scripts/train.py`` is the installed ``kro-train`` command: keras_resnet_opt/cli/train.py."""

from keras_resnet_opt.cli.train import main

if __name__ == "__main__":
    raise SystemExit(main())
