# Customer distribution workbook: `make help` lists the targets.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
REGIONS ?= territories
JOBS ?= 2
ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help setup report lab test test-fast lint sample bench clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-9s %s\n", $$1, $$2}'

$(STAMP): requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $(STAMP)

setup: $(STAMP) ## create .venv and install everything (first use only)

report: $(STAMP) ## render the reports from the bundled sample: reports/<run>/index.html (REGIONS=provinces, JOBS=4, ARGS=...)
	$(BIN)/python -m helpers.run --regions $(REGIONS) --jobs $(JOBS) $(ARGS)

lab: $(STAMP) ## open the notebooks in JupyterLab
	$(BIN)/jupyter lab notebooks/

test: $(STAMP) ## run all the tests (what CI runs)
	$(BIN)/python -m pytest -q

test-fast: $(STAMP) ## the tests that start no Jupyter kernel (the inner loop; not marked kernel)
	$(BIN)/python -m pytest -q -m "not kernel"

lint: $(STAMP) ## ruff, and notebooks in sync with their .py pairs
	$(BIN)/ruff check helpers tests bench samplegen
	$(BIN)/jupytext --sync notebooks/*.py

sample: $(STAMP) ## regenerate the bundled sample data in data/sample
	$(BIN)/python -m samplegen --out data/sample

bench: $(STAMP) ## run the benchmarks (prints tables)
	@for b in bench/*.py; do echo "== $$b"; $(BIN)/python $$b; done

clean: ## remove reports, caches and the virtual environment
	rm -rf reports/*/ .pytest_cache .ruff_cache $(VENV)
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
