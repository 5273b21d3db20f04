# `make run` and `make test` are the two commands a newcomer needs; both set themselves up.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: run test test-fast lint schema migrations clean ui screenshots

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV) || { command -v apt-get >/dev/null && apt-get update -qq && \
	  apt-get install -y -qq python3-venv && $(PYTHON) -m venv $(VENV); }
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/mailsage serve

# The browser tests drive Debian's Chromium (Playwright cannot download browsers here).
CHROMIUM := /usr/bin/chromium
$(CHROMIUM):
	command -v apt-get >/dev/null && apt-get update -qq && apt-get install -y -qq chromium || \
	  echo "chromium could not be installed: the browser tests will be skipped (failed with CI=true)"

test: $(STAMP) $(CHROMIUM)
	$(BIN)/pytest

test-fast: $(STAMP)
	$(BIN)/pytest -m "not slow"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

schema: $(STAMP)
	$(BIN)/python -m mailsage_gql.graphql.export > schema/schema.graphql

# The console's assets (mailsage_gql/console_dist) are committed, so `make run` needs no Node.
# Rebuild them after changing ui/ or the schema; a test checks they match the sources.
ui:
	cd ui && npm ci --no-audit --no-fund && npm run build

# The console's pages at 1280 and 360 px, seeded and driven like the browser tests.
screenshots: $(STAMP) $(CHROMIUM)
	MAILSAGE_SCREENSHOTS=docs/console $(BIN)/pytest -q tests/browser/test_screenshots.py -k sqlite

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
