# FrameDuel developer entry points. `make help` lists them.
#
# Everything runs from the project's own virtual environment (.venv), which `make setup` builds
# from scratch on a fresh clone and keeps up to date afterwards (it is fast when nothing changed).

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
.DELETE_ON_ERROR:
MAKEFLAGS += --no-builtin-rules

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.frameduel-stamp
# TensorFlow's maintained XPlane -> Chrome-trace converter (workloads/xplane.py), installed
# without its declared dependencies: those (gcsfs, google-cloud-storage, aiohttp, ~30 packages)
# serve its web server, not the converter. Matches tensorflow-cpu 2.21 (pyproject.toml).
XPROF := xprof==2.21.6
XPROF_STAMP := $(VENV)/.xprof-stamp
EXTRAS := gui,torch,tensorflow,jax,export,dev
DEMO := resources/configs/demo-mlp.yaml
OUT := out
# Extra arguments for pytest, e.g. `make test PYTEST_ARGS='-k store -x'`.
PYTEST_ARGS ?=

# Caches stay inside the repository (git-ignored .cache/), never in $HOME, for every target.
# XDG_CACHE_HOME catches the rest (fontconfig, Qt, torch hub, pip).
CACHE := $(CURDIR)/.cache
export MPLCONFIGDIR := $(CACHE)/matplotlib
export KERAS_HOME := $(CACHE)/keras
export TORCHINDUCTOR_CACHE_DIR := $(CACHE)/torchinductor
export XDG_CACHE_HOME := $(CACHE)/xdg
# No prompts, ever: CI runs without a terminal.
export PIP_NO_INPUT := 1
export DEBIAN_FRONTEND := noninteractive

# Debian packages: Qt offscreen, a real window under Xvfb, PDF pages to PNG, a known font.
DEB_PACKAGES := \
	libegl1 libgl1 libxkbcommon0 libfontconfig1 libdbus-1-3 \
	xvfb libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0 libxcb-xinerama0 \
	libxcb-xkb1 libxkbcommon-x11-0 libxcb-cursor0 libxcb-shape0 \
	poppler-utils fonts-dejavu-core desktop-file-utils appstream \
	openssh-server openssh-client
SUDO := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)

.PHONY: FORCE help setup system-deps run test lint format screenshots bench bundle clean distclean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

setup: system-deps $(STAMP) $(XPROF_STAMP) ## install Debian packages and build .venv (idempotent)

system-deps: ## install the Debian packages that are missing (apt only when needed)
	@missing=""; \
	for pkg in $(DEB_PACKAGES); do \
		status=$$(dpkg-query -W -f='$${db:Status-Abbrev}' "$$pkg" 2>/dev/null || true); \
		[[ $$status == ii* ]] || missing="$$missing $$pkg"; \
	done; \
	if [[ -n $$missing ]]; then \
		echo "setup: installing Debian packages:$$missing"; \
		$(SUDO) apt-get update; \
		$(SUDO) apt-get install -y --no-install-recommends $$missing; \
	fi

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Re-install only when pyproject.toml changed since the last successful install.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -e '.[$(EXTRAS)]'
	touch $@

# Re-install when the pin (recorded in the stamp) changed; pip cannot say --no-deps per extra.
$(XPROF_STAMP): $(STAMP) FORCE
	@if [[ "$$(cat $@ 2>/dev/null)" != "$(XPROF)" ]]; then \
		set -x; $(BIN)/python -m pip install --no-deps '$(XPROF)'; \
		echo '$(XPROF)' > $@; \
	fi

FORCE:

run: setup ## run the built-in demo: GUI when a display is present, else a headless report
	@if [[ -n "$${DISPLAY:-}$${WAYLAND_DISPLAY:-}" ]]; then \
		set -x; $(BIN)/frameduel gui $(DEMO) --run; \
	else \
		mkdir -p $(OUT); \
		( set -x; $(BIN)/frameduel run $(DEMO) --report $(OUT)/demo-report.pdf \
			--json $(OUT)/demo-report.json ); \
		echo "Report: $(CURDIR)/$(OUT)/demo-report.pdf"; \
		echo "Data:   $(CURDIR)/$(OUT)/demo-report.json"; \
	fi

lint: setup ## ruff format --check, ruff check, mypy, import-linter
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

# pytest's own exit code goes through untouched: 5 ("no tests collected") fails the target.
test: setup lint ## static checks, then the test suite (Qt offscreen)
	QT_QPA_PLATFORM=offscreen $(BIN)/pytest $(PYTEST_ARGS)

format: setup ## ruff format, then ruff check --fix
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

screenshots: setup ## take the README screenshots in a real window under Xvfb
	packaging/screenshots.sh

bundle: setup ## build the desktop bundle (PyInstaller; no framework inside): dist/frameduel/
	packaging/bundle.sh dist build/bundle

bench: setup ## run the benchmarks: python -m benchmarks, else each benchmarks/*.py as a module
	@if [[ -f benchmarks/__main__.py ]]; then \
		set -x; $(BIN)/python -m benchmarks; \
	else \
		shopt -s nullglob; scripts=(benchmarks/[!_]*.py); \
		if (( $${#scripts[@]} == 0 )); then \
			echo "bench: nothing to run (no benchmarks/__main__.py or benchmarks/*.py)" >&2; \
			exit 1; \
		fi; \
		for script in "$${scripts[@]}"; do \
			module=$${script%.py}; \
			( set -x; $(BIN)/python -m "$${module//\//.}" ); \
		done; \
	fi

clean: ## remove outputs and caches (keeps .venv)
	rm -rf $(OUT) build dist .cache .mypy_cache .ruff_cache .pytest_cache .import_linter_cache
	rm -rf ./*.egg-info
	find . -path ./$(VENV) -prune -o -type d -name __pycache__ -exec rm -rf {} +

distclean: clean ## clean, and remove .venv too
	rm -rf $(VENV)
