# vgbench: the two commands of the README.
#   make demo   create .venv, install vgbench, run the built-in end-to-end demo
#   make test   create .venv, install vgbench with test extras, run the test suite
# CPU machines install with constraints-cpu.txt (pins torch/torchvision so no CUDA wheels are pulled).
# On a GPU machine: make demo CONSTRAINTS=
PYTHON ?= python3
VENV ?= .venv
CONSTRAINTS ?= constraints-cpu.txt
PIP_C = $(if $(CONSTRAINTS),-c $(CONSTRAINTS),)
BIN = $(VENV)/bin

.PHONY: demo test test-slow test-faults bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed-core: pyproject.toml $(CONSTRAINTS) | $(BIN)/python
	$(BIN)/pip install -q $(PIP_C) -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(CONSTRAINTS) | $(BIN)/python
	$(BIN)/pip install -q $(PIP_C) -e ".[test,models,ffmpeg,diffusers]"
	touch $@ $(VENV)/.installed-core

demo: $(VENV)/.installed-core
	$(BIN)/vgbench demo --out vgbench-out

test: $(VENV)/.installed-test
	$(BIN)/python -m pytest -q

test-slow: $(VENV)/.installed-test
	$(BIN)/python -m pytest -q -m slow

test-faults: $(VENV)/.installed-test
	$(BIN)/python -m pytest -q -s -m faults

bench: $(VENV)/.installed-test
	$(BIN)/python benchmarks/bench_core_metrics.py
	$(BIN)/python benchmarks/bench_fvd.py
	$(BIN)/python benchmarks/bench_clip_score.py
	$(BIN)/python benchmarks/bench_vbench_onepass.py
	$(BIN)/python benchmarks/bench_engine.py
	$(BIN)/python benchmarks/bench_hashing.py
	$(BIN)/python benchmarks/bench_cli.py
	$(BIN)/python benchmarks/bench_batch.py

clean:
	rm -rf $(VENV) vgbench-out
