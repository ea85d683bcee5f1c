# One-command set-up: every target below creates .venv on first use.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
DEMO   ?= fixtures/promote_lsn_timeout

.PHONY: demo test lint bench fixtures clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	@# byte-compiled now: where PYTHONDONTWRITEBYTECODE is set, every run would compile
	@# the package from source again (0.3-0.45 s of each command's start, measured)
	$(PY) -m compileall -q forensics >/dev/null
	$(VENV)/bin/forensics warm-up || echo "(large logs will use Numba's just-in-time kernels)"
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/forensics analyze $(DEMO) --html report.html --json report.json --md report.md; \
	  rc=$$?; if [ $$rc -gt 1 ]; then exit $$rc; fi
	@echo "wrote report.html"

test: $(STAMP)
	@# one worker per core; a test file stays on one worker, so its module fixtures
	@# (whole-fixture analyses) run once (measured on 2 cores: 10 min serial, 6.2 min)
	$(PY) -m pytest -q -m "not bench" -n auto --dist loadfile

lint: $(STAMP)
	$(VENV)/bin/ruff check forensics tests fixtures/generate.py
	$(VENV)/bin/ruff format --check forensics tests fixtures/generate.py
	$(VENV)/bin/mypy

fixtures: $(STAMP)
	$(PY) fixtures/generate.py

bench: $(STAMP)
	$(PY) -m compileall -q forensics >/dev/null
	$(PY) benchmarks/run.py

clean:
	rm -rf $(VENV) report.html report.json report.md .pytest_cache
