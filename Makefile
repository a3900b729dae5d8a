# puretorch_scalar — `make demo` and `make test` are all a newcomer needs (Python 3.10+ and make).
# Each bootstraps .venv and installs what it needs, including Graphviz (and Chromium for the
# browser test) through apt-get where they are missing and this is possible.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
READY  := $(VENV)/.ready
DEMO   := $(VENV)/.ready-demo
OUT    ?= out

.PHONY: demo test test-deep lint unit notebooks notebooks-run docs docs-build oracle bench mutation graphviz browser clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# The demo needs only the package and matplotlib, so a newcomer sees a picture within minutes;
# everything else (tests, notebooks, docs, benchmarks) comes with the first `make test`.
$(DEMO): setup.cfg pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[demo]'
	touch $@

$(READY): setup.cfg pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[demo,test,notebooks,docs,bench]'
	touch $@

# System packages: installed only where missing, and only where apt-get can run as root.
graphviz:
	@command -v dot >/dev/null || ./.ci/apt-install graphviz

browser:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || ./.ci/apt-install chromium chromium-driver

demo: $(DEMO) graphviz
	$(BIN)/python -m puretorch_scalar.demo --out $(OUT)

lint: $(READY)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

unit: $(READY) graphviz browser
	$(BIN)/pytest

notebooks: $(READY) graphviz
	PTS_DIGITS_EPOCHS=1 PTS_GPT_STEPS=20 PTS_MNIST_EPOCHS=1 PTS_MNIST_TRAIN=500 $(BIN)/pytest --nbmake notebooks -p no:randomly  # short runs of 06, 08 and 11 (the committed outputs are full runs)

docs-build: $(READY)
	$(BIN)/mkdocs build --strict --site-dir site

test: lint unit notebooks docs-build

test-deep: $(READY)  ## the property tests alone, on 1000 fresh random examples each (about 2 minutes)
	HYPOTHESIS_PROFILE=deep $(BIN)/pytest -m hypothesis

notebooks-run: $(READY) graphviz  ## re-execute the notebooks in place, keeping their outputs
	$(BIN)/jupyter nbconvert --to notebook --execute --inplace --ExecutePreprocessor.store_widget_state=False notebooks/*.ipynb  # widget state would make static copies load widget code from a CDN

docs: $(READY)
	$(BIN)/mkdocs serve

oracle: $(READY)  ## PyTorch (CPU) as an optional test oracle: a large download unless a local wheel exists
	$(BIN)/python -m pip install --quiet torch==2.13.0

bench: $(READY)
	$(BIN)/python benchmarks/run_all.py

mutation: $(READY)  ## mutation testing of the engine and Tensor (slow; settings in setup.cfg [mutmut])
	HYPOTHESIS_PROFILE=mutation $(BIN)/mutmut run --max-children 2; $(BIN)/mutmut results

clean:
	rm -rf $(VENV) site $(OUT) .pytest_cache .hypothesis mutants
