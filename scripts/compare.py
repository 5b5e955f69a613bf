"""``python scripts/compare.py`` is the installed ``kro-compare`` command: keras_resnet_opt/cli/compare.py."""

from keras_resnet_opt.cli.compare import main

if __name__ == "__main__":
    raise SystemExit(main())
