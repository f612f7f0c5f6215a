# virt.sriov toolchain. `make help` lists the targets.
# Everything installs itself on a fresh Debian 12 machine (Python 3.11): Debian packages that
# are missing, then .venv (ansible-core 2.19) and .venv-2.18 from the pinned locks in
# requirements/. Virtualenvs are rebuilt only when their lock file's content changes.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

PYTHON ?= python3
export PYTHON

VENV := .venv
VENV18 := .venv-2.18
MAIN_LOCK := requirements/main.txt
COMPAT_LOCK := requirements/ansible-2.18.txt
# stamp = hash of the lock file's content (+ the script that installs it)
lock_hash = $(shell cat $(1) scripts/venv.sh | sha256sum | cut -c1-16)
MAIN_STAMP := $(VENV)/.installed-$(call lock_hash,$(MAIN_LOCK))
COMPAT_STAMP := $(VENV18)/.installed-$(call lock_hash,$(COMPAT_LOCK))

BUILD := build
COLLECTIONS_ROOT := $(CURDIR)/$(BUILD)
STAGE := $(BUILD)/ansible_collections/virt/sriov
SANITY_PYTHON := 3.11
# fast sanity subset for the ansible-core 2.18 compatibility pass
COMPAT_SANITY_TESTS := --test validate-modules --test compile --test import
VERSION = $(shell sed -n 's/^version: *//p' galaxy.yml)
MODULES = $(sort $(filter-out __init__,$(basename $(notdir $(wildcard plugins/modules/*.py)))))

define header
	@printf '\n\033[1m==================== %s ====================\033[0m\n' "$(1)"
endef

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-zA-Z0-9_.-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

# ---------------------------------------------------------------------------- environment
.PHONY: sysdeps venv venv-2.18 stage requirements-lock
sysdeps: ## install missing Debian packages (libvirt-dev, pkg-config, rsync, ...)
	@scripts/sysdeps.sh

venv: $(MAIN_STAMP) ## .venv with ansible-core 2.19 and all tools (pinned)
venv-2.18: $(COMPAT_STAMP) ## .venv-2.18 with ansible-core 2.18 (pinned)

$(MAIN_STAMP): | sysdeps
	@scripts/venv.sh $(VENV) $(MAIN_LOCK) $@
$(COMPAT_STAMP): | sysdeps
	@scripts/venv.sh $(VENV18) $(COMPAT_LOCK) $@

stage: | sysdeps ## copy the collection to build/ansible_collections/virt/sriov
	@scripts/stage-collection.sh >/dev/null

requirements-lock: | sysdeps ## regenerate requirements/*.txt from requirements/*.in
	scripts/lock-requirements.sh

# ---------------------------------------------------------------------------- test pipeline
.PHONY: test check sanity units lint changelog-lint docs-lint compat-2.18 build-check ee-check e2e e2e-libvirt11 e2e-guest-os molecule
test: check e2e e2e-libvirt11 molecule ## everything, the lab suites last (what CI runs)

check: ## everything except the lab suites (e2e, e2e-libvirt11, molecule), fail fast
	$(MAKE) sanity
	$(MAKE) units
	$(MAKE) lint
	$(MAKE) changelog-lint
	$(MAKE) docs-lint
	$(MAKE) compat-2.18
	$(MAKE) build-check
	$(MAKE) ee-check

sanity: venv ## ansible-test sanity, ansible-core 2.19 (all tests, offline)
	$(call header,sanity: ansible-test sanity (ansible-core 2.19))
	scripts/ansible-test.sh $(VENV) sanity --venv --python $(SANITY_PYTHON)

# Unit tests run from the staged tree, so `ansible_collections.virt.sriov...` imports resolve.
UNITS_RUN = cd $(STAGE) && PYTHONPATH=$(COLLECTIONS_ROOT) ANSIBLE_COLLECTIONS_PATH=$(COLLECTIONS_ROOT) \
	$(CURDIR)/$(1)/bin/python -m pytest -p no:pytest-ansible -p no:cacheprovider tests/unit
units: venv stage ## pytest tests/unit (ansible-core 2.19) with coverage of plugins/
	$(call header,units: pytest tests/unit (ansible-core 2.19))
	$(call UNITS_RUN,$(VENV)) --cov=plugins --cov-report=term

lint: venv stage ## ansible-lint --offline, production profile (virt.sriov resolved from the stage)
	$(call header,lint: ansible-lint (production profile))
	PATH=$(CURDIR)/$(VENV)/bin:$$PATH ANSIBLE_COLLECTIONS_PATH=$(COLLECTIONS_ROOT) \
		$(VENV)/bin/ansible-lint --offline --profile production

changelog-lint: venv ## antsibull-changelog lint
	$(call header,changelog-lint: antsibull-changelog)
	$(VENV)/bin/antsibull-changelog lint
	$(VENV)/bin/antsibull-changelog lint-changelog-yaml changelogs/changelog.yaml

docs-lint: venv stage ## antsibull-docs lint-collection-docs --plugin-docs (plugins, roles, guides)
	$(call header,docs-lint: antsibull-docs lint-collection-docs)
	cd $(STAGE) && PATH=$(CURDIR)/$(VENV)/bin:$$PATH ANSIBLE_COLLECTIONS_PATH=$(COLLECTIONS_ROOT) \
		$(CURDIR)/$(VENV)/bin/antsibull-docs lint-collection-docs --plugin-docs .

compat-2.18: venv-2.18 stage ## ansible-core 2.18: sanity subset + unit tests
	$(call header,compat-2.18: ansible-test sanity subset (ansible-core 2.18))
	scripts/ansible-test.sh $(VENV18) sanity --venv --python $(SANITY_PYTHON) $(COMPAT_SANITY_TESTS)
	$(call header,compat-2.18: pytest tests/unit (ansible-core 2.18))
	$(call UNITS_RUN,$(VENV18))

build-check: venv stage ## build the collection tarball, install it, ansible-doc every module
	$(call header,build-check: ansible-galaxy collection build + install + ansible-doc)
	scripts/build-check.sh $(VENV) $(STAGE) $(BUILD) $(MODULES)

ee-check: venv ## ansible-builder create (context only) into build/ee
	$(call header,ee-check: ansible-builder create)
	@test -f $(BUILD)/ee-input/virt-sriov.tar.gz || $(MAKE) build-check
	rm -rf $(BUILD)/ee
	$(VENV)/bin/ansible-builder create -f execution-environment.yml -c $(BUILD)/ee --output-filename Containerfile -v 2

e2e: venv ## lab end-to-end suite (libvirt 9.0); `make test` also runs `make e2e-libvirt11`
	$(call header,e2e: pytest -m lab tests/e2e)
	$(LAB) deps
	$(LAB) build
	$(VENV)/bin/pytest -m lab tests/e2e -v --durations=15

# The tests whose behaviour depends most on the libvirt version (hostdev networks, connections,
# hostdev attach with VLAN), on the libvirt 11.3 variant of the lab (bookworm-backports).
E2E_LIBVIRT11 := tests/e2e/test_pool_network.py tests/e2e/test_guest_interfaces.py
e2e-libvirt11: venv ## pool network + guest interface lab tests on libvirt 11.3 (instance lab-libvirt11, stopped after)
	$(call header,e2e-libvirt11: pytest -m lab on the libvirt 11 variant)
	$(LAB) deps
	$(LAB) build --libvirt 11
	VIRT_SRIOV_LAB_LIBVIRT=11 VIRT_SRIOV_LAB_STOP=1 $(VENV)/bin/pytest -m lab $(E2E_LIBVIRT11) -v --durations=5

e2e-guest-os: venv ## only the nested guestOS test (also in e2e; VIRT_SRIOV_LAB_GUEST_OS=0 opts out): sees its VF, powers off (~4-5 min; instance lab)
	$(call header,e2e-guest-os: pytest -m lab tests/e2e/test_guest_os.py)
	$(LAB) deps
	$(LAB) build
	$(VENV)/bin/pytest -m lab tests/e2e/test_guest_os.py -v -s

molecule: venv ## molecule test of the passthrough scenario on the lab (instance "molecule")
	$(call header,molecule: molecule test -s passthrough)
	$(LAB) deps
	$(LAB) build
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(VENV)/bin/molecule test -s passthrough

# ---------------------------------------------------------------------------- lab, docs, misc
LAB := $(PYTHON) tests/lab/lab.py
.PHONY: demo lab-start lab-stop docs bench clean distclean
demo: venv ## build and boot the emulated SR-IOV lab (instance "demo"), run playbooks/sriov_passthrough.yml on it
	$(call header,demo)
	$(LAB) deps
	$(LAB) build
	VENV=$(VENV) tests/lab/demo.sh

lab-start: venv ## start the lab (deps + build + start)
	$(LAB) deps
	$(LAB) build
	$(LAB) start

lab-stop: ## stop the lab
	$(LAB) stop

docs: venv stage ## docs site (module and role reference + the guides of docs/docsite) into build/docs/build/html
	$(call header,docs: antsibull-docs sphinx)
	scripts/docs.sh $(VENV) $(BUILD)

bench: venv ## benchmarks (bench/run): converge, per-task cost, discovery, fleet, Mitogen -> bench/results.md (hours; uses the lab)
	bench/run

clean: ## remove build output (keeps the virtualenvs)
	rm -rf $(BUILD) tests/output collections .pytest_cache .coverage

distclean: clean ## also remove the virtualenvs
	rm -rf $(VENV) $(VENV18)
