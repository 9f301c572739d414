# critmin — the two commands: `make run` (solve the default scenario) and `make test` (the test suite).
# Both create .venv on a fresh machine and install the project into it.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test bench lint clean readme-examples

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	$(BIN)/python -m compileall -q engine  # bytecode, as a regular install has it (an editable one has none)
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/critmin solve --out results/baseline --force

test: $(STAMP)
	$(BIN)/python -m pytest -q -n 2

bench: $(STAMP)
	$(BIN)/python -m benchmarks

readme-examples: $(STAMP)  # rewrite the output of README.md's marked examples from what the code prints
	$(BIN)/python -m tools.readme_examples

lint: $(STAMP)
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) results build dist *.egg-info
