# Netral — set-up, demo, tests and benchmarks. Everything installs into .venv; nothing global but
# Debian's Chromium for the browser test.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: install demo test test-fast lint bench bench-scale bench-load train evaluate serve chromium clean

$(STAMP): pyproject.toml
	@command -v $(PY) >/dev/null 2>&1 || { echo "Python 3.11 ($(PY)) is required"; exit 1; }
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# torch==2.13.0 is pinned: pip takes the CPU wheel from local disk; other versions pull CUDA builds.
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "Installing Debian's chromium for the browser test"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver fonts-dejavu-core >/dev/null) \
	  || echo "chromium could not be installed; the browser test will be skipped"; }

demo: install
	$(BIN)/netral demo

test: install chromium
	$(BIN)/ruff check netral tests
	$(BIN)/python -m pytest -q

test-fast: install
	$(BIN)/python -m pytest -q -m "not model and not browser"

lint: install
	$(BIN)/ruff check netral tests

# Naive, fp32, int8, the default scan and the scan with the cascade on the election set and the timeline
# mix; ends with one `summary:` line. Export the model first: netral model export VERSION.
bench: install
	$(BIN)/python -m netral.pipeline.bench

# 200,000 synthetic posts through the scan with a constant-time scorer: flat memory, linear time.
bench-scale: install
	$(BIN)/python -m netral.pipeline.bench --scale 200000

# 8 reviewers for 60 s against PostgreSQL (NETRAL_BENCH_POSTGRES_URL or NETRAL_TEST_POSTGRES_URL):
# p50/p95 latency printed; exits 1 on a double decision, a broken audit chain or a 5xx.
bench-load: install
	$(BIN)/python -m netral.serve.loadbench --reviewers 8 --seconds 60

train: install
	$(BIN)/netral train

evaluate: install
	$(BIN)/netral evaluate

serve: install
	$(BIN)/netral serve

clean:
	rm -rf $(VENV) var .pytest_cache
