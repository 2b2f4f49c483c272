# Two commands set everything up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
SAMPLE := tests/data/sample.wav

.PHONY: install demo test test-fast bench lint clean

install: $(STAMP)

# torch is installed first and pinned so pip takes the CPU build from local disk instead of a CUDA build.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e ".[models,api,gpu,bench,dev,eval]"
	touch $(STAMP)

demo: install
	@mkdir -p demo-output
	$(VENV)/bin/therapybridge transcribe $(SAMPLE) -o demo-output --format json,txt,srt,vtt,rttm --show

test: install
	$(PY) -m pytest -q

test-fast: install
	$(PY) -m pytest -q -m "not slow and not browser"

bench: install
	$(PY) -m benchmarks.run

lint: install
	$(PY) -m ruff check src tests benchmarks || true

clean:
	rm -rf $(VENV) demo-output .pytest_cache
