"""``python tuning/search.py`` is the installed ``kro-search`` command: keras_resnet_opt/cli/search.py."""

from keras_resnet_opt.cli.search import main

if __name__ == "__main__":
    raise SystemExit(main())
