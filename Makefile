# Two front doors: `make book` builds the book, `make test` runs the tests.
# Both create the virtual environment in .venv first when there is none.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PROFILE ?= quick

.PHONY: book test env execute html pair clean

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q -r requirements.txt
	$(BIN)/python -m pip install -q --no-deps -e .
	touch $(STAMP)

env: $(STAMP)

## make book: execute every chapter under $(PROFILE), then build the HTML (book/_build/html)
book: $(STAMP)
	$(BIN)/python -m helpers book --profile $(PROFILE)

## make test: the unit tests, then every chapter under `quick` and a strict HTML build,
## then the paper's effects on the book's models (`after_book`, reusing the model cache the
## book filled) and the built book in headless Chromium (`browser`)
test: $(STAMP)
	$(BIN)/python -m pytest -m "not browser and not after_book"
	$(BIN)/python -m helpers book --profile quick
	$(BIN)/python -m pytest -m "browser or after_book"

execute: $(STAMP)
	$(BIN)/python -m helpers run --profile $(PROFILE)

html: $(STAMP)
	$(BIN)/python -m helpers build

## make pair: regenerate every chapter's .ipynb (no outputs) from its .py source
pair: $(STAMP)
	$(BIN)/jupytext --to ipynb --update-metadata '{"jupytext": {"formats": "ipynb,py:percent"}}' book/chapters/[0-9][0-9]_*.py

clean:
	rm -rf book/_build
