# Two commands matter to users: `make run` and `make test` (see README.md).
# Both create the virtual environment on first use.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CORES ?= all
ARGS ?=
STAMP := $(VENV)/.installed

.PHONY: run test lint format dryrun clean-venv

$(STAMP): pyproject.toml requirements.lock
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python >= 3.11 is required (set PYTHON=...)")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --constraint requirements.lock --editable '.[dev]'
	touch $@

## run: the main job with config/config.yaml; extra Snakemake arguments in ARGS
run: $(STAMP)
	$(BIN)/snakemake --cores $(CORES) $(ARGS)

## test: lint, format checks, Snakemake lint and dry run, and the whole pytest suite
test: $(STAMP) lint
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/snakefmt --check Snakefile workflow/rules

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .
	$(BIN)/snakefmt Snakefile workflow/rules

dryrun: $(STAMP)
	$(BIN)/snakemake --dry-run $(ARGS)

clean-venv:
	rm -rf $(VENV)
