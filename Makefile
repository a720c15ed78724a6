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

test: $(VENV)/.installed
	$(PY) -m pytest -q

clean:
	rm -rf $(VENV) .pytest_cache
