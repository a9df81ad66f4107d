# radrag: `make run` and `make test` set up everything they need on a fresh machine.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.lock pyproject.toml | sha256sum | cut -c1-12)
export HF_HUB_OFFLINE ?= 1
export TOKENIZERS_PARALLELISM ?= false

.PHONY: venv kb run test test-unit test-integration lint format bench soak clean

$(STAMP): requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# Every dependency pinned with its sha256 (scripts/lock.py regenerates the lock). torch
	# is the CPU build these machines carry as a local wheel, never a multi-GB CUDA build.
	$(BIN)/pip install -q --require-hashes -r requirements.lock
	$(BIN)/pip install -q --no-deps -e .
	rm -f $(VENV)/.installed-*
	touch $@

venv: $(STAMP)

kb: venv  ## fetch the default assets and build the default knowledge base (once)
	$(BIN)/radrag kb ensure

run: kb  ## start the API on 127.0.0.1:8000
	$(BIN)/radrag keys ensure-dev
	$(BIN)/radrag serve

test: venv
	$(BIN)/pytest -q

test-unit: venv
	$(BIN)/pytest -q -m unit

test-integration: venv
	$(BIN)/pytest -q -m integration

lint: venv
	$(BIN)/ruff check rag tests bench scripts
	$(BIN)/ruff format --check rag tests bench scripts

format: venv
	$(BIN)/ruff format rag tests bench scripts
	$(BIN)/ruff check --fix rag tests bench scripts

bench: kb
	$(BIN)/python bench/bench_foundation.py
	$(BIN)/python bench/bench_kb.py $(BENCH_KB_ARGS)
	$(BIN)/python bench/bench_guard.py
	$(BIN)/python bench/bench_encoder.py

soak: kb  ## bounded load on loopback: throughput, latency percentiles, errors, memory
	$(BIN)/python bench/soak.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
