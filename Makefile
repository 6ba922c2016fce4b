# The two set-up commands (see README): `make book` and `make test`.
# Each creates .venv from requirements.txt on first use.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: book test release venv clean

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -r requirements.txt
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

# The main job: regenerate the student exercises from solutions/, then build the book
# with every notebook executed and warnings treated as errors.
book: venv
	$(BIN)/rnn-course release
	$(BIN)/jupyter-book build . --warningiserror --nitpick --keep-going

release: venv
	$(BIN)/rnn-course release

test: venv
	$(BIN)/python -m pytest

clean:
	rm -rf _build
