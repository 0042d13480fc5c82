# Thin driver over CMake; see README.md. Every target installs missing Debian
# packages first (scripts/install-deps.sh), so a fresh machine needs nothing else.
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
FUZZ_SECONDS ?= 10

.PHONY: all deps build demo test unit integration asan fuzz format lint bench clean

all: build

deps:
	@./scripts/install-deps.sh

build: deps
	@cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build build -j$(JOBS)

# The blog's demo: the built-in stack in the foreground (Ctrl-C stops it);
# STATE and BASE_PORT as for `meridian up --state --base-port`.
STATE ?= .meridian
BASE_PORT ?= 18000
demo: build
	@./build/meridian up --state $(STATE) --base-port $(BASE_PORT)

# Everything: build, unit, scenario, ASan+UBSan, lint, fuzz smoke; ends with "N passed, N failed".
test: deps
	@FUZZ_SECONDS=$(FUZZ_SECONDS) JOBS=$(JOBS) ./scripts/test.sh

unit: build
	@cd build && ctest --output-on-failure

integration: build
	@MERIDIAN_BIN=$(CURDIR)/build/meridian /usr/bin/python3 -m pytest -q tests/integration

asan: deps
	@cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DMERIDIAN_SANITIZE=ON >/dev/null
	@cmake --build build-asan -j$(JOBS)
	@cd build-asan && ctest --output-on-failure

fuzz: deps
	@CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMERIDIAN_FUZZ=ON >/dev/null
	@cmake --build build-fuzz -j$(JOBS)
	@FUZZ_SECONDS=$(FUZZ_SECONDS) ./scripts/fuzz.sh build-fuzz

format: deps
	@clang-format -i $$(git ls-files '*.c' '*.h')

lint: deps
	@./scripts/lint.sh

bench: build
	@./bench/sign
	@./bench/store
	@./bench/router
	@./bench/edge
	@./bench/replication
	@./bench/edge-functions
	@./bench/tls

clean:
	rm -rf build build-asan build-fuzz
