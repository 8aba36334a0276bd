# Two commands do all set-up on a fresh machine: `make demo` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.installed
DEMO_LIBRARY ?= .demo-library
export HF_HUB_OFFLINE ?= 1
export TOKENIZERS_PARALLELISM ?= false

.PHONY: demo test install sysdeps clean bench

$(PY):
	python3 -m venv $(VENV)
	$(PIP) install -q --upgrade "pip>=24"

sysdeps:
	bash scripts/sysdeps.sh

$(STAMP): pyproject.toml | $(PY)
	$(PIP) install -q -e '.[test]'
	touch $(STAMP)

install: sysdeps $(STAMP)

demo: install
	$(PY) -m mmrag ingest samples/corpus --library $(DEMO_LIBRARY)
	$(PY) -m mmrag status --library $(DEMO_LIBRARY)
	$(PY) scripts/demo_queries.py --library $(DEMO_LIBRARY)

test: install
	$(PY) -m pytest -q tests

bench: install
	$(PY) benchmarks/bench_search.py

clean:
	rm -rf $(DEMO_LIBRARY) .pytest_cache
