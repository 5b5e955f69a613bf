"""``python scripts/jpeg_sensitivity.py`` is the installed ``kro-jpeg-sensitivity`` command: \
keras_resnet_opt/cli/jpeg_sensitivity.py."""

from keras_resnet_opt.cli.jpeg_sensitivity import main

if __name__ == "__main__":
    raise SystemExit(main())
