# neurorrn: two commands do everything on a fresh machine (python3 is all they need).
#   make test   create/update .venv, then run the test suite (slow tests: make test-slow)
#   make demo   create/update .venv, then run the main job on the embedded default config
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.neurorrn-installed
PYTEST_ARGS ?=

.PHONY: test test-slow demo venv clean bench

venv: $(STAMP)

# Reinstall only when the dependency files changed since the last install.
$(STAMP): pyproject.toml constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -c constraints.txt -e '.[dev]' 2>&1 | grep -v "is ignored: it is neither a file nor a directory" || true
	$(PY) -c "import neurorrn, torch; assert torch.__version__.startswith('2.13.0'), torch.__version__"
	@touch $(STAMP)

test: $(STAMP)
	$(PY) tests/_setup_browser.py
	$(PY) -m pytest $(PYTEST_ARGS)

test-slow: $(STAMP)
	$(PY) -m pytest --runslow $(PYTEST_ARGS)

demo: $(STAMP)
	$(VENV)/bin/neurorrn run configs/demo.yaml

bench: $(STAMP)
	@echo "see benchmarks/README.md: each script runs on its own"

clean:
	rm -rf $(VENV) demo_output .pytest_cache
