"""``python scripts/report.py`` is the installed ``kro-report`` command: keras_resnet_opt/cli/report.py."""

from keras_resnet_opt.cli.report import main

if __name__ == "__main__":
    raise SystemExit(main())
