# Two entry points (see README): `make train` and `make test`. Both create .venv first.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PRESET ?= cpu-quick
OPTIMIZER ?= padam
# Empty: TFDS `cifar10` (or $$KERAS_RESNET_OPT_DATA_DIR). Set it to use a local copy.
DATA_DIR ?=
# More scripts/train.py flags, e.g. ARGS="--seed 1 --wait" (see python scripts/train.py --help).
ARGS ?=

.PHONY: setup train test clean

$(BIN)/.installed: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@

setup: $(BIN)/.installed

train: setup
	$(BIN)/python scripts/train.py --optimizer $(OPTIMIZER) --preset $(PRESET) $(if $(DATA_DIR),--data-dir $(DATA_DIR)) $(ARGS)

test: setup
	$(BIN)/python -m pytest -p no:faulthandler

clean:
	rm -rf $(VENV) runs tuning/runs .pytest_cache
