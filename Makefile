# Two commands for a newcomer: `make book` and `make test`. Everything else is optional.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: help venv book book-clean test test-fast lint release check-release clean \
        screenshots pdf

help:
	@echo "make book     build the HTML book (creates $(VENV) on first use)"
	@echo "make test     run every check: package, notebooks, nbgrader, book"
	@echo "make release  regenerate exercises/ from solutions/"
	@echo "make lint     ruff"
	@echo "make screenshots  PNGs of every chapter (desktop, phone) in _build/screenshots/"
	@echo "make pdf      the whole book as one PDF, _build/pdf/book.pdf (needs chromium)"

# The environment is (re)built when requirements.txt or pyproject.toml change.
$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -r requirements.txt
	touch $(STAMP)

venv: $(STAMP)

book: $(STAMP)
	$(BIN)/python -m infoloss.clenet
	$(BIN)/jupyter-book build . -W -n --keep-going
	@echo "The book is at: file://$(CURDIR)/_build/html/index.html"

book-clean:
	rm -rf _build

test: $(STAMP)
	$(BIN)/python -m pytest

test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not slow"

# Both print the built book with Debian's chromium (apt-get install chromium), offline.
screenshots: book
	$(BIN)/python -m bookcheck screenshots

pdf: book
	$(BIN)/python -m bookcheck pdf

lint: $(STAMP)
	$(BIN)/ruff check .

release: $(STAMP)
	$(BIN)/python -m autograder release

check-release: $(STAMP)
	$(BIN)/python -m autograder release --check

clean:
	rm -rf _build .pytest_cache
