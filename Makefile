# lvs.cluster: the two commands a newcomer needs are `make demo` and `make test`.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
export PATH := $(abspath $(BIN)):$(PATH)
export ANSIBLE_COLLECTIONS_PATH := $(abspath build/collections)
export ANSIBLE_CONFIG := $(abspath ansible.cfg)

.PHONY: venv tree unit lint sanity build-check test

venv: $(VENV)/.installed
$(VENV)/.installed: requirements.txt
	python3 -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements.txt
	touch $@

tree:
	@scripts/collection-tree.sh >/dev/null

unit: venv tree
	PYTHONPATH=$(abspath build/collections) $(BIN)/pytest -q tests/unit
