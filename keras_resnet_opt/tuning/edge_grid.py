"""`EdgeGridOracle`: a learning-rate grid that grows outward while its best sits on an edge.

A fixed 3-point grid around a default cannot tell a tuned rate from one that
is merely the largest (or smallest) tried: if the winner is on an edge, the
optimum may lie beyond it. This oracle is the protocol of the cpu-budget study
(issue 12) written as a Keras Tuner oracle, so it keeps Keras Tuner's
resume, trial records and distributed mode:

1. propose the starting rates, in order;
2. when all of them are done, find the best completed trial (by the
   objective, the final epoch's validation accuracy); if it is the lowest
   rate tried and a lower grid point exists, propose that one; likewise at
   the top;
3. otherwise stop.

Every optimizer starts from the same number of points, so budgets are equal
"extensions aside", and an extension is visible in the trials table. Other
hyperparameters (a fixed Padam p) keep their declared defaults.
"""

import time

import keras_tuner
from keras_tuner.engine import trial as trial_module

from keras_resnet_opt.tuning.spaces import LEARNING_RATE

# How long a distributed worker waits before asking again while the oracle
# needs a running trial's result to decide whether to extend.
IDLE_WAIT_S = 2.0


class EdgeGridOracle(keras_tuner.Oracle):
    """Keras Tuner oracle for the edge-extending learning-rate grid.

    Args:
        objective: the objective (maximised or minimised as it says).
        grid: every rate that may be tried, ascending.
        initial: the rates tried first (a subset of ``grid``).
        max_trials: a cap on the number of trials, extensions included.
        **kwargs: passed to ``keras_tuner.Oracle`` (seed, ...).
    """

    def __init__(self, objective, grid, initial, max_trials, **kwargs):
        super().__init__(objective=objective, max_trials=max_trials, **kwargs)
        self.grid = [float(v) for v in grid]
        self.initial = [float(v) for v in initial]
        missing = [v for v in self.initial if v not in self.grid]
        if missing or self.grid != sorted(self.grid):
            raise ValueError(
                f"`initial` must be points of the ascending `grid`. Received: grid={grid}, initial={initial}"
            )

    def _values(self, learning_rate):
        values = {hp.name: hp.default for hp in self.hyperparameters.space}
        values[LEARNING_RATE] = learning_rate
        return {"status": trial_module.TrialStatus.RUNNING, "values": values}

    def next_rate(self):
        """The next rate to try, "wait" while a running trial must finish first, or None to stop."""
        tried = [t.hyperparameters.values.get(LEARNING_RATE) for t in self.trials.values()]
        tried = [float(v) for v in tried if v is not None]
        for rate in self.initial:
            if rate not in tried:
                return rate
        running = {t.trial_id for t in self.ongoing_trials.values()} | set(self._retry_queue)
        if running:
            return "wait"
        done = [
            t for t in self.trials.values()
            if t.status == trial_module.TrialStatus.COMPLETED and t.score is not None and t.score == t.score
        ]
        if not done:
            return None
        pick = max if self.objective.direction == "max" else min
        best = float(pick(done, key=lambda t: t.score).hyperparameters.values[LEARNING_RATE])
        index = self.grid.index(best)
        if best == min(tried) and index > 0 and self.grid[index - 1] not in tried:
            return self.grid[index - 1]
        if best == max(tried) and index + 1 < len(self.grid) and self.grid[index + 1] not in tried:
            return self.grid[index + 1]
        return None

    def populate_space(self, trial_id):
        rate = self.next_rate()
        if rate == "wait":
            time.sleep(IDLE_WAIT_S)
            return {"status": trial_module.TrialStatus.IDLE}
        if rate is None:
            return {"status": trial_module.TrialStatus.STOPPED}
        return self._values(rate)

    def get_state(self):
        state = super().get_state()
        state.update(grid=self.grid, initial=self.initial)
        return state

    def set_state(self, state):
        super().set_state(state)
        self.grid = state["grid"]
        self.initial = state["initial"]
