"""``python scripts/jpeg_copy.py`` is the installed ``kro-jpeg-copy`` command: keras_resnet_opt/cli/jpeg_copy.py."""

from keras_resnet_opt.cli.jpeg_copy import main

if __name__ == "__main__":
    raise SystemExit(main())
