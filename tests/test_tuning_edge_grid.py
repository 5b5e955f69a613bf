"""The edge-extending learning-rate grid and resumable trials (the cpu-budget study's tuning).

The oracle is checked on black-box objectives with a known optimum (no
training): it must start from the points around the centre, step outward
while the best sits on an edge, and stop once the best is inside. A trial's
resume is checked on a real ResNet-8 fit: interrupted after 2 of 4 epochs and
continued, it ends with the weights and history of an uninterrupted trial.
"""

import math

import keras_tuner
import numpy as np
import pytest

from keras_resnet_opt.config import make_config
from keras_resnet_opt.tuning.edge_grid import EdgeGridOracle
from keras_resnet_opt.tuning.hypermodel import ResNetHyperModel, final_epoch_metrics, load_search_data
from keras_resnet_opt.tuning.options import OBJECTIVE
from keras_resnet_opt.tuning.spaces import EDGE_GRID_REACH, edge_grid_learning_rates, search_space
from keras_resnet_opt.tuning.trial_state import RESUME_DIR, read_trial_history, resume_point


def test_grid_is_half_decades_around_the_centre():
    grid, initial = edge_grid_learning_rates(0.1, 3)
    assert initial == (0.0316228, 0.1, 0.316228)
    assert len(grid) == 2 * EDGE_GRID_REACH + 1 and list(grid) == sorted(grid) and set(initial) <= set(grid)
    assert math.isclose(grid[0], 0.001) and math.isclose(grid[-1], 10.0)
    assert edge_grid_learning_rates(0.001, 5)[1] == (0.0001, 0.000316228, 0.001, 0.00316228, 0.01)
    with pytest.raises(ValueError, match="odd number"):
        edge_grid_learning_rates(0.1, 4)


def test_space_for_the_edge_grid_needs_a_fixed_p():
    with pytest.raises(ValueError, match="fix Padam's p"):
        search_space("padam", lr_points=3)
    space = search_space("padam", partial=0.25, lr_center=0.01, lr_points=3)
    assert space.partial == ((0.25,), 0.25) and space.lr_initial == (0.00316228, 0.01, 0.0316228)
    assert space.to_dict(grid=True)["learning_rate"]["initial"] == [0.00316228, 0.01, 0.0316228]
    with pytest.raises(ValueError, match="Only padam has"):
        search_space("adam", partial=0.25)
    with pytest.raises(ValueError, match=r"must be in \[0, 0.5\]"):
        search_space("padam", partial=0.75)


class _BlackBox(keras_tuner.Tuner):
    """Scores a trial by a known function of its learning rate, without training."""

    def __init__(self, score, **kwargs):
        super().__init__(**kwargs)
        self.score = score

    def run_trial(self, trial, *args, **kwargs):
        return {OBJECTIVE: self.score(trial.hyperparameters.values["learning_rate"])}


def _search(tmp_path, score, max_trials=20, center=0.1):
    grid, initial = edge_grid_learning_rates(center, 3)
    oracle = EdgeGridOracle(keras_tuner.Objective(OBJECTIVE, "max"), grid, initial, max_trials, seed=1)

    def build(hp):
        hp.Choice("learning_rate", list(grid))
        hp.Fixed("partial", 0.125)
        return None

    tuner = _BlackBox(score, oracle=oracle, hypermodel=build, directory=str(tmp_path), project_name="p")
    tuner.search(verbose=0)
    trials = sorted(tuner.oracle.trials.values(), key=lambda t: int(t.trial_id))
    return [t.hyperparameters.values["learning_rate"] for t in trials], trials, grid


def _peaked_at(rate):
    return lambda lr: -abs(math.log10(lr) - math.log10(rate))


def test_best_inside_the_starting_points_stops_after_them(tmp_path):
    tried, trials, _ = _search(tmp_path, _peaked_at(0.1))
    assert tried == [0.0316228, 0.1, 0.316228]
    assert all(t.hyperparameters.values["partial"] == 0.125 for t in trials)  # fixed values ride along


def test_best_on_an_edge_steps_out_until_it_is_inside(tmp_path):
    tried, _, _ = _search(tmp_path, _peaked_at(1.0))  # two half-decades above the top start
    assert tried == [0.0316228, 0.1, 0.316228, 1.0, 3.16228]
    tried, _, _ = _search(tmp_path / "low", _peaked_at(0.003))
    assert tried == [0.0316228, 0.1, 0.316228, 0.01, 0.00316228, 0.001]


def test_monotone_objective_stops_at_the_grid_end_or_the_trial_cap(tmp_path):
    tried, _, grid = _search(tmp_path, lambda lr: lr)
    assert tried == [0.0316228, 0.1, 0.316228, 1.0, 3.16228, 10.0] and tried[-1] == grid[-1]
    tried, _, _ = _search(tmp_path / "capped", lambda lr: lr, max_trials=4)
    assert tried == [0.0316228, 0.1, 0.316228, 1.0]


def test_trials_are_scored_by_their_final_epoch():
    import keras

    history = keras.callbacks.History()
    history.history = {"val_accuracy": [0.2, 0.6, 0.4], "loss": [2.0, 1.5, 1.2]}
    assert final_epoch_metrics(history) == {"val_accuracy": 0.4, "loss": 1.2}
    assert final_epoch_metrics({"val_accuracy": 0.3}) == {"val_accuracy": 0.3}


def _weights(model):
    return [np.array(w) for w in model.get_weights()]


def test_interrupted_trial_resumes_to_the_uninterrupted_result(tmp_path, synthetic_dir):
    config = make_config("smoke", optimizer="sgdm", epochs=4, data_dir=str(synthetic_dir))
    space = search_space("sgdm", lr_points=3)
    data = load_search_data(config)
    hypermodel = ResNetHyperModel(config, space, data, grid=True)
    hp = keras_tuner.HyperParameters()

    # Uninterrupted: 4 epochs in one go.
    whole = hypermodel.build(hp)
    hypermodel.fit(hp, whole, trial_dir=tmp_path / "whole")
    # Interrupted after epoch 2 (fit stops there), then continued by a fresh call.
    first = hypermodel.build(hp)
    hypermodel.fit(hp, first, epochs=2, trial_dir=tmp_path / "cut")
    assert resume_point(tmp_path / "cut")[0] == 2
    history = hypermodel.fit(hp, hypermodel.build(hp), trial_dir=tmp_path / "cut")
    assert history.params["epochs"] == 4 and len(history.history["loss"]) == 2  # epochs 3 and 4 only

    rows_whole, rows_cut = read_trial_history(tmp_path / "whole"), read_trial_history(tmp_path / "cut")
    assert [r["epoch"] for r in rows_cut] == [1, 2, 3, 4]
    for a, b in zip(rows_whole, rows_cut):
        assert (
            a["loss"] == pytest.approx(b["loss"], rel=1e-4) and a["learning_rate"] == pytest.approx(b["learning_rate"])
        )
    for a, b in zip(_weights(whole), _weights(history.model)):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    assert (tmp_path / "cut" / RESUME_DIR).is_dir()  # kept until the tuner discards it on completion


def test_a_trial_with_a_damaged_newest_checkpoint_goes_on_from_the_one_before(tmp_path, synthetic_dir):
    from keras_resnet_opt.training.checkpoints import DamagedCheckpointWarning

    config = make_config("smoke", optimizer="sgdm", epochs=3, data_dir=str(synthetic_dir))
    hypermodel = ResNetHyperModel(config, search_space("sgdm", lr_points=3), load_search_data(config), grid=True)
    hp = keras_tuner.HyperParameters()
    hypermodel.fit(hp, hypermodel.build(hp), epochs=2, trial_dir=tmp_path)  # interrupted after epoch 2
    newest = tmp_path / RESUME_DIR / "epoch-0002.keras"
    newest.write_bytes(newest.read_bytes()[:1000])

    with pytest.warns(DamagedCheckpointWarning, match="epoch-0002.keras.*resuming from epoch 1"):
        history = hypermodel.fit(hp, hypermodel.build(hp), trial_dir=tmp_path)
    assert len(history.history["loss"]) == 2  # epochs 2 and 3 again
    assert [r["epoch"] for r in read_trial_history(tmp_path)] == [1, 2, 3]
