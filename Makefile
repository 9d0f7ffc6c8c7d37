# The two commands of the README:  make run   and   make test
# Both set up the virtual environment first if it is missing or stale.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
CORES ?= 2
BIN := $(VENV)/bin
# rules call `python -m repgeom ...`: the venv's python must come first on PATH
export PATH := $(abspath $(BIN)):$(PATH)

# torch/torchvision: the pair this machine kind serves locally (see README "Install").
ifeq ($(shell uname -m),aarch64)
TORCH_PINS ?= torch==2.9.1 torchvision==0.24.1
else
TORCH_PINS ?= torch==2.14.1 torchvision==0.29.1
endif

.PHONY: run test test-fast lint report snakemake-report bench clean-results setup

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q $(TORCH_PINS)
	$(BIN)/python -m pip install -q -e '.[test,cluster]' $(TORCH_PINS)
	touch $@

run: setup
	$(BIN)/snakemake --cores $(CORES)

report: setup
	$(BIN)/snakemake --cores $(CORES) results/report.html

snakemake-report: setup
	$(BIN)/snakemake --report results/snakemake_report.html

bench: setup
	$(BIN)/python benchmarks/analysis_vs_tutorial.py --cores $(CORES)

test: setup
	$(BIN)/python -m pytest -q -ra

test-fast: setup
	$(BIN)/python -m pytest -q -ra -m "not slow and not slurm"

lint: setup
	$(BIN)/snakemake --lint

clean-results:
	find results -mindepth 1 -maxdepth 1 ! -name README.md -exec rm -rf {} +
	rm -rf .snakemake resources
