# lvs.cluster. A newcomer needs two commands: `make demo` (lab + demo cluster) and `make test` (everything).
SHELL := /bin/bash
VENV ?= .venv
BIN := $(abspath $(VENV))/bin
export PATH := $(BIN):$(PATH)
export ANSIBLE_COLLECTIONS_PATH := $(abspath build/collections)
export ANSIBLE_CONFIG := $(abspath ansible.cfg)
export PYTHONPATH := $(abspath build/collections)
SCENARIOS ?= dr life ha nat tun bgp

.PHONY: deps venv tree unit lint sanity build-check checks molecule test demo demo-status demo-down bench

deps:
	@scripts/install-system-deps.sh

venv: $(VENV)/.installed
$(VENV)/.installed: requirements.txt
	python3 -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements.txt
	touch $@

tree:
	@scripts/collection-tree.sh >/dev/null

unit: deps venv tree
	pytest -q tests/unit

lint: deps venv tree
	ansible-lint --profile production
	shellcheck --severity=warning --external-sources --source-path=SCRIPTDIR lab/*.sh scripts/*.sh .ci/run roles/common/files/lvs-netstate

sanity: deps venv
	scripts/sanity.sh

build-check: venv
	scripts/build-check.sh

# Everything that needs no IPVS kernel.
checks: lint unit sanity build-check

include lab/lab.mk

molecule: venv tree lab-up
	scripts/molecule.sh $(SCENARIOS)

test: deps venv tree
	scripts/test.sh

demo: deps venv tree lab-up
	scripts/demo.sh

demo-status: venv tree
	scripts/demo.sh status

demo-down: venv tree
	scripts/demo.sh down

bench: venv tree lab-up
	scripts/bench.sh
