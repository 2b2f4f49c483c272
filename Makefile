# Two commands set everything up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
SAMPLE := tests/data/sample.wav

CHROMIUM ?= /usr/bin/chromium

.PHONY: install demo test test-fast bench bench-gpu lint check-test-deps clean

install: $(STAMP)

# torch is installed first and pinned so pip takes the CPU build from local disk instead of a CUDA build.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e ".[models,api,gpu,bench,dev,eval,server,ray,live,deid]"
	touch $(STAMP)

demo: install
	@mkdir -p demo-output
	$(VENV)/bin/therapybridge transcribe $(SAMPLE) -o demo-output --format json,txt,srt,vtt,rttm --show

# Two workers: much of the suite waits on process start-up, model loading, servers and a browser rather than on
# the CPU, so two files at a time finish ~1.3x sooner on 2 cores. --dist loadfile keeps each file on one worker, so
# a module's fixtures (a Ray cluster, a server, a transcription) are built once. TEST_WORKERS=0 runs serially.
TEST_WORKERS ?= 2
XDIST := $(if $(filter 0,$(TEST_WORKERS)),,-n $(TEST_WORKERS) --dist loadfile)
test: install check-test-deps
	$(PY) -m pytest -q $(XDIST)

# The browser tests would skip without Chromium, and `make test` would pass without ever opening a page.
check-test-deps:
	@test -x "$(CHROMIUM)" || { echo "make test needs Debian's chromium at $(CHROMIUM) for the browser tests: apt-get install chromium"; exit 1; }
	@$(PY) -c "import playwright" 2>/dev/null || { echo "make test needs the playwright package: $(PY) -m pip install -e '.[dev]'"; exit 1; }

test-fast: install
	$(PY) -m pytest -q -m "not slow and not browser" $(XDIST)

bench: install
	$(PY) -m benchmarks.run

# The GPU figures on a CUDA machine that has its own Python and CUDA torch, no venv and no network (docs/gpu.md):
# the project from src, other packages from a carried bundle (GPU_BUNDLE=DIR). Exits 3 with a message without CUDA.
GPU_BUNDLE ?=
bench-gpu:
	PYTHONPATH=src python3 -m benchmarks.bench_gpu $(if $(GPU_BUNDLE),--bundle $(GPU_BUNDLE)) $(GPU_ARGS)

lint: install
	$(PY) -m ruff check src tests benchmarks

clean:
	rm -rf $(VENV) demo-output .pytest_cache
