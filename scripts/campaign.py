"""``python scripts/campaign.py`` is the installed ``kro-campaign`` command: keras_resnet_opt/cli/campaign.py."""

from keras_resnet_opt.cli.campaign import main

if __name__ == "__main__":
    raise SystemExit(main())
