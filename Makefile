# Two commands set everything up on a fresh machine:
#   make demo   -> the main job on the bundled example
#   make test   -> the test suite
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo demo-real test test-fast bench clean browser tick-venv

$(STAMP): pyproject.toml
	@test -x $(PY) || $$(scripts/find-python312) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

# The embedded default: synthetic truces simulated from a known truth (needs no data files).
demo: $(STAMP)
	$(VENV)/bin/escalate demo $(DEMO_ARGS)

# The real example, read from ../shared/data (or $$ESCALATE_DATA); see README.md.
demo-real: $(STAMP)
	$(VENV)/bin/escalate demo --example israel-hezbollah --out runs/demo-real $(DEMO_ARGS)

# The report tests render HTML in a real headless Chromium (Debian's package).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium for the report tests"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium >/dev/null; }

test: $(STAMP) browser
	$(PY) -m pytest $(PYTEST_ARGS)

# Everything but the real-NUTS and notebook tests (marked slow): a quick loop while developing.
test-fast: $(STAMP)
	$(PY) -m pytest -m "not slow" $(PYTEST_ARGS)

bench: $(STAMP)
	$(PY) benchmarks/likelihood.py
	$(PY) benchmarks/daily.py
	$(PY) benchmarks/forecast.py

# tick (benchmarks/tick_compare.py) has no wheels for Python 3.12: its own Python 3.11 venv.
TICK_PYTHON ?= python3.11
tick-venv:
	@test -x .venv-tick/bin/python || $(TICK_PYTHON) -m venv .venv-tick
	.venv-tick/bin/python -m pip install --quiet tick numpydoc  # tick reads its attributes from numpydoc docstrings

clean:
	rm -rf $(VENV) build src/*.egg-info
