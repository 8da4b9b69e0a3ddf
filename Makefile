# Haven: two commands do all the set-up.
#   make run   installs what is needed and starts Haven's live loop
#   make test  installs what is needed and runs lint, types and the test suite
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
APT_PACKAGES := espeak-ng libespeak-ng1 libportaudio2 sox libsox-fmt-all flite \
	festival festvox-kallpc16k pulseaudio pulseaudio-utils libasound2-plugins fortunes \
	sphinxtrain pocketsphinx
BENCH_PACKAGES := festvox-kdlpc16k festvox-us-slt-hts pocketsphinx-testdata
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test lint sysdeps venv clean bench-deps

sysdeps: .stamp-apt
.stamp-apt: Makefile
	@missing=""; for p in $(APT_PACKAGES); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "Installing system packages:$$missing"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi
	@touch $@

venv: $(BIN)/.installed
$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	@touch $@

run: sysdeps venv
	$(BIN)/haven run

lint: venv
	$(BIN)/ruff check assistant tests $(wildcard bench)
	$(BIN)/mypy

test: sysdeps venv lint
	HAVEN_REQUIRE_AUDIO=1 $(BIN)/python -m pytest -q

# The held-out festival voices the benchmarks under bench/ speak with (not needed to test).
bench-deps: sysdeps venv
	@missing=""; for p in $(BENCH_PACKAGES); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi

clean:
	rm -rf $(VENV) .stamp-apt
