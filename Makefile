# The two commands a newcomer needs: `make demo` and `make check`.
# Everything else is a building block of those two.

FUZZ_SECONDS ?= 15
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
BUILD ?= build
ASAN_BUILD ?= build-asan
CMAKE ?= cmake

.PHONY: all deps build demo check test test-asan lint bench fuzz mutate clean

all: build

deps:
	@scripts/install-deps

$(BUILD)/Makefile:
	$(CMAKE) -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMEDREG_WERROR=ON

build: $(BUILD)/Makefile
	$(CMAKE) --build $(BUILD) -j $(JOBS)

# The demonstration: two physicians, one patient, the registry and a study extract.
demo: deps build
	@scripts/demo.sh $(BUILD)

# the banned functions; every mutation of tests/mutations.txt still applies to the tree
lint:
	@scripts/check-banned
	@scripts/mutate --list >/dev/null

# Every test: unit and integration on SQLite and PostgreSQL, then all of it again
# under AddressSanitizer + UndefinedBehaviorSanitizer.
check: deps lint build
	@scripts/postgres-start
	cd $(BUILD) && MEDREG_REQUIRE_POSTGRES=1 ctest --output-on-failure -j 2
	$(MAKE) test-asan
	$(MAKE) fuzz

# Every libFuzzer harness, briefly, from the committed corpus.
fuzz:
	@scripts/fuzz.sh $(FUZZ_SECONDS)

test: build
	cd $(BUILD) && ctest --output-on-failure -j 2

test-asan:
	$(CMAKE) -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DMEDREG_SANITIZE=ON -DMEDREG_WERROR=ON
	$(CMAKE) --build $(ASAN_BUILD) -j $(JOBS)
	cd $(ASAN_BUILD) && MEDREG_REQUIRE_POSTGRES=1 \
	  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1 \
	  LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp:print_suppressions=0 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --output-on-failure -j 2

bench: deps build
	@scripts/postgres-start
	@bench/run.sh $(BUILD)

# Break each check of tests/mutations.txt in turn and see a test fail (about 85 minutes on two cores).
mutate: deps
	@scripts/postgres-start
	@scripts/mutate

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) build-fuzz build-mutate
