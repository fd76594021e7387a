# Two commands do everything: `make demo` and `make test`.
# Both create (or reuse) .venv/ and install ecogis with its extras.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.ecogis-installed

.PHONY: demo test install clean-venv sample

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test,sample]"
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/ecogis demo --out out

test: $(STAMP)
	$(BIN)/python -m pytest -q

sample: $(STAMP)
	$(BIN)/python scripts/build_sample_layers.py --out layers/sample

clean-venv:
	rm -rf $(VENV)
