# Two entry points (see README): `make train` and `make test`. Both create .venv first.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PRESET ?= cpu-quick
# Empty: the preset's optimizer (he2016: sgdm), else kro-train's default, padam.
OPTIMIZER ?=
# Empty: TFDS `cifar10` (or $$KERAS_RESNET_OPT_DATA_DIR). Set it to use a local copy.
DATA_DIR ?=
# More kro-train flags, e.g. ARGS="--seed 1 --wait" (see kro-train --help).
ARGS ?=
# Exact versions (see its header); `pip install -e .` without it takes setup.cfg's ranges.
LOCK := requirements.lock

.PHONY: setup train test lock clean

$(BIN)/.installed: setup.cfg pyproject.toml $(LOCK)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c $(LOCK) -e ".[dev]"
	touch $@

setup: $(BIN)/.installed

train: setup
	$(BIN)/kro-train $(if $(OPTIMIZER),--optimizer $(OPTIMIZER)) --preset $(PRESET) $(if $(DATA_DIR),--data-dir $(DATA_DIR)) $(ARGS)

# pytest-xdist: one worker a core, at most 4 (each test's TensorFlow starts its own threads and,
# in the end-to-end tests, processes); worksteal evens out the few minute-long tests.
# PYTEST_WORKERS=-n0 runs them in this process.
PYTEST_WORKERS ?= -n auto --maxprocesses 4 --dist worksteal

test: setup
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -p no:faulthandler $(PYTEST_WORKERS)

# After changing setup.cfg's requirements: install them into .venv without the old pins and
# rewrite $(LOCK) from the versions .venv now has (scripts/write_lock.py); run `make test`
# before committing it.
lock:
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	$(BIN)/python scripts/write_lock.py > $(LOCK).tmp
	mv $(LOCK).tmp $(LOCK)

clean:
	rm -rf $(VENV) runs tuning/runs .pytest_cache
