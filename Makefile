# neurorrn: two commands do everything on a fresh machine (python3 is all they need).
#   make test   create/update .venv, then run the test suite, and the training-derived tests
#               (tests/zoo, tests/models) again on a second BLAS code path (slow tests: make test-slow)
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

# The second floating-point code path for the tests whose values come out of training: OpenBLAS's
# Haswell kernels (unless the machine presets OPENBLAS_CORETYPE, which is then kept), MKL's
# COMPATIBLE branch and at most AVX2, PyTorch's kernels at AVX2 (tests/_codepath.py prints both).
SECOND_PATH = env MKL_CBWR=COMPATIBLE MKL_ENABLE_INSTRUCTIONS=AVX2 ATEN_CPU_CAPABILITY=avx2 \
	OPENBLAS_CORETYPE=$${OPENBLAS_CORETYPE:-Haswell}

test: $(STAMP)
	$(PY) tests/_setup_browser.py
	$(PY) tests/_codepath.py "pass 1: native code paths, whole suite"
	$(PY) -m pytest $(PYTEST_ARGS)
	$(SECOND_PATH) $(PY) tests/_codepath.py "pass 2: second code path, tests/zoo tests/models" --expect-second
	$(SECOND_PATH) $(PY) -m pytest -p no:cacheprovider tests/zoo tests/models $(PYTEST_ARGS)

test-slow: $(STAMP)
	$(PY) -m pytest --runslow $(PYTEST_ARGS)

demo: $(STAMP)
	$(VENV)/bin/neurorrn run configs/demo.yaml

bench: $(STAMP)
	@echo "see benchmarks/README.md: each script runs on its own"

clean:
	rm -rf $(VENV) demo_output .pytest_cache
