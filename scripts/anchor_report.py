"""``python scripts/anchor_report.py`` is the installed ``kro-anchor-report`` command: \
keras_resnet_opt/cli/anchor.py."""

from keras_resnet_opt.cli.anchor import main

if __name__ == "__main__":
    raise SystemExit(main())
