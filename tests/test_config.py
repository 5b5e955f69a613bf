"""Presets, precedence and validation of the run configuration."""

import pytest

from keras_resnet_opt.config import PRESETS, RunConfig, make_config
from keras_resnet_opt.training.schedules import make_schedule


def test_every_preset_resolves_and_round_trips():
    for name in PRESETS:
        config = make_config(name, optimizer="sgdm")
        assert RunConfig.from_dict(config.to_dict()) == config


def test_he2016_boundaries_are_the_papers_iterations():
    config = make_config("he2016")
    assert config.val_size == 0 and config.train_subset is None  # all 50,000 training images
    steps = 391  # ceil(50,000 / 128)
    schedule = make_schedule(config.lr_schedule, 0.1, steps, config.epochs, config.lr_boundaries)
    # The k-th update sees iterations k-1: update 32,000 (iterations 31,999) still at 0.1.
    assert float(schedule(31_999)) == pytest.approx(0.1)
    assert float(schedule(32_000)) == pytest.approx(0.01)
    assert float(schedule(48_000)) == pytest.approx(0.001)
    assert config.epochs * steps >= 64_000 > (config.epochs - 1) * steps  # stops at the first epoch past 64k


def test_per_optimizer_preset_fields_sit_between_preset_and_overrides():
    # cpu-budget: one coupled decay for all, AdamW's decoupled decay its own.
    assert make_config("cpu-budget", optimizer="sgdm").weight_decay == 5e-4
    assert make_config("cpu-budget", optimizer="adamw").weight_decay == 0.5
    assert make_config("cpu-budget", optimizer="adamw", weight_decay=0.1).weight_decay == 0.1
    hparams = {"best": {"adamw": {"weight_decay": 0.2, "learning_rate": 0.003}}}
    tuned = make_config("cpu-budget", optimizer="adamw", hparams=hparams)
    assert (tuned.weight_decay, tuned.learning_rate) == (0.2, 0.003)
    # seed-protocol: lr 0.001 for all but Padam's 0.1, no augmentation, no decay, no schedule.
    assert make_config("seed-protocol", optimizer="sgdm").learning_rate == 0.001
    padam = make_config("seed-protocol", optimizer="padam")
    assert (padam.learning_rate, padam.augment, padam.weight_decay, padam.lr_schedule) == (0.1, False, 0.0, "constant")


def test_step_schedule_decays_at_epoch_boundaries():
    schedule = make_schedule("step", 0.1, 10, 8, (4, 6))
    assert float(schedule(39)) == pytest.approx(0.1)
    assert float(schedule(40)) == pytest.approx(0.01)
    assert float(schedule(60)) == pytest.approx(0.001)


def test_overrides_win_and_none_means_not_given():
    config = make_config("cpu-quick", optimizer="padam", epochs=3, learning_rate=None)
    assert config.epochs == 3 and config.learning_rate is None


@pytest.mark.parametrize(
    "overrides,message",
    [
        ({"epochs": 0}, "epochs"),
        ({"optimizer": "padam", "partial": 0.6}, "partial"),
        ({"optimizer": "padam", "learning_rate": -1.0}, "learning_rate"),
        ({"precision": "fp8"}, "precision"),
        ({"strategy": "tpu"}, "strategy"),
        ({"lr_scaling": "sqrt"}, "lr_scaling"),
        ({"learning_rate": float("inf")}, "learning_rate.*finite"),
        ({"learning_rate": float("nan")}, "learning_rate.*finite"),
        ({"weight_decay": float("inf")}, "weight_decay.*finite"),
        ({"run_name": "../elsewhere"}, "run_name.*one folder name"),
        ({"run_name": "a/b"}, "run_name.*one folder name"),
        ({"run_name": "a\\b"}, "run_name.*one folder name"),
        ({"run_name": ".."}, "run_name.*one folder name"),
        ({"run_name": ".tmp"}, "run_name.*one folder name"),
        ({"run_name": ""}, "run_name.*one folder name"),
    ],
)
def test_bad_values_are_named(overrides, message):
    with pytest.raises(ValueError, match=message):
        make_config("smoke", **overrides)


def test_unknown_preset_lists_valid_ones():
    with pytest.raises(ValueError, match="cpu-quick"):
        make_config("imagenet")


def test_learning_rate_is_never_rescaled_unless_asked():
    from keras_resnet_opt.training.prepare import initial_learning_rate

    # Default: a changed global batch keeps the registry's lr (0.1 for sgdm).
    assert initial_learning_rate(make_config("cpu-quick", optimizer="sgdm", batch_size=512)) == pytest.approx(0.1)
    # Linear: lr x batch / the preset's batch (128), from the registry's default or from --lr.
    linear = make_config("cpu-quick", optimizer="sgdm", batch_size=512, lr_scaling="linear")
    assert linear.lr_scale() == pytest.approx(4.0)
    assert initial_learning_rate(linear) == pytest.approx(0.4)
    explicit = make_config("smoke", optimizer="adam", batch_size=64, learning_rate=0.002, lr_scaling="linear")
    assert initial_learning_rate(explicit) == pytest.approx(0.004)  # smoke's batch is 32
    # At the preset's own batch linear scaling changes nothing.
    assert make_config("cpu-quick", optimizer="sgdm", lr_scaling="linear").lr_scale() == 1.0


def test_run_names_are_single_portable_folder_names():
    from keras_resnet_opt.config import safe_name_part

    assert make_config("smoke", optimizer="keras.optimizers:Lion").resolved_run_name() == \
        "smoke-resnet8-keras.optimizers.Lion-s0"
    assert safe_name_part("my_pkg>Opt") == "my_pkg.Opt"
    assert make_config("smoke", run_name="cpu-budget-resnet20-padam-p0.0625-s2").run_name.endswith("s2")
