"""``python scripts/lr_decay_check.py`` is the installed ``kro-lr-decay-check`` command: \
keras_resnet_opt/cli/lr_decay_check.py."""

from keras_resnet_opt.cli.lr_decay_check import main

if __name__ == "__main__":
    raise SystemExit(main())
