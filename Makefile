# make run   - on a fresh machine: set everything up, start the lab, collect and post both systems
# make test  - run every test (primary controller, then the Python 3.11 / ansible-core 2.19 fallback)
SHELL := /bin/bash
.DEFAULT_GOAL := help
VENV ?= .venv
COMPAT_VENV ?= .venv-py311
PY := $(VENV)/bin/python
# Prefer a controller on Python >= 3.12 (supported ansible-core); fall back to 3.11 (ansible-core 2.19).
# (pyenv shims exist for every installed version but run only the active ones, so each is tried.)
find_python = $(shell for p in $$(ls -d $$HOME/.pyenv/versions/$(1)*/bin/python$(1) 2>/dev/null | sort -V -r) \
	  $$(command -v python$(1) 2>/dev/null); do "$$p" -c 'import venv, ensurepip' 2>/dev/null && { echo $$p; break; }; done)
PYTHON ?= $(or $(call find_python,3.12),$(call find_python,3.13),$(call find_python,3.11))
COMPAT_PYTHON ?= $(call find_python,3.11)

.PHONY: help setup sshd run collect lab-start lab-stop test test-primary test-compat lint clean

help:
	@sed -n '1,2p' Makefile

sshd:
	@command -v sshd >/dev/null || [ -x /usr/sbin/sshd ] || { \
	  echo "Installing OpenSSH server for the lab"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq openssh-server >/dev/null; }

$(VENV)/.installed: requirements.txt
	@[ -n "$(PYTHON)" ] || { echo "No Python 3.11+ found"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --disable-pip-version-check -r requirements.txt
	touch $@

setup: sshd $(VENV)/.installed

lab-start: setup
	$(PY) tests/lab/lab.py start

lab-stop:
	@if [ -x $(PY) ]; then $(PY) tests/lab/lab.py stop; fi

collect:
	SAM_API_KEY=$$($(PY) tests/lab/lab.py api-key) PATH=$(VENV)/bin:$$PATH ansible-playbook collect.yml

run: lab-start collect

test: test-primary test-compat

test-primary: setup
	PATH=$(VENV)/bin:$$PATH $(PY) -m pytest tests -p no:cacheprovider

$(COMPAT_VENV)/.installed: requirements.txt
	@[ -n "$(COMPAT_PYTHON)" ] || { echo "No Python 3.11 found for the ansible-core 2.19 fallback"; exit 1; }
	$(COMPAT_PYTHON) -m venv $(COMPAT_VENV)
	$(COMPAT_VENV)/bin/pip install -q --disable-pip-version-check -r requirements.txt
	touch $@

# The fallback controller: Python 3.11 with ansible-core 2.19, filters and one full lab run.
test-compat: sshd $(COMPAT_VENV)/.installed
	PATH=$(COMPAT_VENV)/bin:$$PATH $(COMPAT_VENV)/bin/python -m pytest tests -p no:cacheprovider -m compat

lint: setup
	PATH=$(VENV)/bin:$$PATH ansible-lint --profile production

clean: lab-stop
	rm -rf $(VENV) $(COMPAT_VENV) tests/lab/.state
