# Two entry points: `make demo` and `make test`. Each sets up .venv from a clean clone first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

# Debian packages the tests use for real peers (namespaces, nftables, an MQTT broker, GPG,
# git repos and daemons, test certificates, a Prometheus that scrapes /metrics,
# systemd-analyze for the example unit, a NATS cluster, a Debian container booted with
# systemd-nspawn: debootstrap builds it, dnsmasq serves it DHCP). Installed only when missing and we are root
# with apt-get (CI, a fresh machine); `make test` stops if that install fails, or if they
# are missing in CI (CI=true), where a test that needs one fails instead of skipping.
# Elsewhere the tests that need them skip with a clear reason.
SYSTEM_PACKAGES := iproute2 nftables mosquitto gnupg openssh-client git openssl prometheus systemd \
                   nats-server debootstrap systemd-container dnsmasq-base

.PHONY: demo test lint typecheck unit schema bench clean system-deps

# Setting up shows its steps and each package as pip collects it (a fresh clone takes a
# minute or two), not pip's full log; a failing install still fails the target.
$(STAMP): pyproject.toml
	@echo "==> [1/3] creating $(VENV) with $(PYTHON)"
	@$(PYTHON) -m venv $(VENV)
	@echo "==> [2/3] upgrading pip"
	@$(BIN)/python -m pip install --quiet --upgrade pip
	@echo "==> [3/3] installing reconciler and its test tools into $(VENV) (a minute or two)"
	@bash -o pipefail -c "$(BIN)/python -m pip install -e '.[test]' 2>$(VENV)/pip.log \
	  | { grep --line-buffered -E '^(Collecting|Successfully installed)' || true; } \
	  | sed -u -e 's/^Collecting /    collecting /' -e 's/^Successfully installed .*/    done/'" \
	  || { cat $(VENV)/pip.log; echo "pip install failed (log above: $(VENV)/pip.log)"; exit 1; }
	@touch $(STAMP)

demo: $(STAMP)
	@$(BIN)/python -m reconciler.demo

test: $(STAMP) system-deps lint typecheck unit

system-deps:
	@missing=""; for p in $(SYSTEM_PACKAGES); do \
	  dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing:$$missing"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null) \
	      || { echo "error: could not install$$missing (apt-get failed)"; exit 1; }; \
	  elif [ "$$CI" = true ]; then \
	    echo "error: CI needs$$missing and cannot install them (not root or no apt-get)"; exit 1; \
	  else echo "note: not installing$$missing (not root or no apt-get); tests that need them skip"; fi; \
	fi

lint: $(STAMP)
	$(BIN)/ruff check reconciler tests bench scripts
	$(BIN)/ruff format --check reconciler tests bench scripts

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest

schema: $(STAMP)
	$(BIN)/reconcile schema --out schemas/

bench: $(STAMP)
	for b in bench/*.py; do $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
