# The two commands a newcomer needs: `make preview` (offline preview of prod) and `make test`.
# Each sets up its own virtual environment the first time, and again when requirements.txt changes.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STACK ?= prod

.PHONY: preview test clean

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	@touch $@

preview: $(VENV)/.installed
	$(PY) -m offline preview --stack $(STACK)

# Mermaid's own parser checks the diagrams the CLI draws, and mermaid-cli draws them in Chromium
# (tests/test_offline_topology.py): Node.js is on the machines this project runs on; without it
# those tests are skipped outside CI. Puppeteer would download a browser of its own: it uses
# Debian's /usr/bin/chromium instead (.ci/run installs it; tests/mermaid/puppeteer-config.json).
MERMAID := tests/mermaid
$(MERMAID)/node_modules/.installed: $(MERMAID)/package-lock.json
	@if command -v npm >/dev/null; then PUPPETEER_SKIP_DOWNLOAD=1 npm ci --prefix $(MERMAID) --silent --no-audit --no-fund && touch $@; \
	else echo "note: no npm here; the Mermaid tests will be skipped"; fi

# Two test processes, a test file each at a time (tests/workers.py, set in pytest.ini): tests/test_types.py
# (mypy, the longest test of a cold run) starts first on one while the other takes the rest, longest
# first; benchmarks/suite.py has the figures.
# Python's bytecode caches stay on for the suite (some shells and CI images set PYTHONDONTWRITEBYTECODE):
# without them every run recompiles the project and pytest rewrites every test module again, about
# 1.5 s of CPU per process (benchmarks/suite.py).
test: $(VENV)/.installed $(MERMAID)/node_modules/.installed
	env -u PYTHONDONTWRITEBYTECODE $(PY) -m pytest -q

clean:
	rm -rf $(VENV) .pytest_cache $(MERMAID)/node_modules
