# Two commands matter to users: `make run` and `make test` (see README.md).
# Both create the virtual environment on first use.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CORES ?= all
ARGS ?=
STAMP := $(VENV)/.installed

.PHONY: run report test test-cluster lint format dryrun audit freeze clean-venv

$(STAMP): pyproject.toml requirements.lock
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python >= 3.11 is required (set PYTHON=...)")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --constraint requirements.lock --editable '.[dev]'
	touch $@

## run: the main job with config/config.yaml; extra Snakemake arguments in ARGS
run: $(STAMP)
	$(BIN)/snakemake --cores $(CORES) $(ARGS)

## report: Snakemake's report of the results version that `make run` made with the same
## ARGS: every figure and table with its caption, zipped (open report/report.html inside).
## It goes beside the version folders, which it never changes; REPORT sets another path.
REPORT ?= results/report.zip
report: $(STAMP)
	$(BIN)/snakemake --report $(REPORT) $(ARGS)

## test: lint, format checks, Snakemake lint and dry run, and the whole pytest suite
test: $(STAMP) lint
	$(BIN)/python -m pytest

## audit: re-verify a results version (VERSION=...; default latest): its outputs and raw
## inputs against their recorded hashes, then a rerun into .audit/ compared file by file.
## FROZEN=frozen/<version>.tar.gz audits from a freeze archive, with no network.
audit: $(STAMP)
	$(BIN)/python -m housing_segregation.audit check $(VERSION) --cores $(CORES) \
		$(if $(FROZEN),--frozen $(FROZEN))

## freeze: pack a version's raw inputs, lock files and records into frozen/<version>.tar.gz
freeze: $(STAMP)
	$(BIN)/python -m housing_segregation.audit freeze $(VERSION)

## test-cluster: the SLURM tier, on a running cluster (as root: bash tests/slurm/start_cluster.sh)
test-cluster: $(STAMP)
	$(BIN)/python -m pytest -m slurm

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
