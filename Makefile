# xwdeploy - the two commands a user needs are `make demo` and `make test`.
# Everything installs what is missing first (scripts/install-deps).

BUILD      ?= build
ASAN_BUILD ?= build-asan
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_ARGS ?=
# Integration tests run side by side (they mostly wait); see tests/CMakeLists.txt.
ITEST_JOBS ?= 3

.PHONY: all deps build test test-unit test-sanitize demo up down status clean fuzz bench

all: build

deps:
	@scripts/install-deps

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_ARGS) >/dev/null
	@cmake --build $(BUILD) -j$(JOBS)

# Unit tests in parallel; integration tests side by side too (each starts
# its own redis-server, broker and services on free ports; the heavy ones
# share a lock, see tests/CMakeLists.txt).
test: build
	@rm -f $(BUILD)/flaky.txt
	cd $(BUILD) && ctest -L unit -j$(JOBS) --output-on-failure
	scripts/ctest-run $(BUILD) -L integration -j$(ITEST_JOBS)

test-unit: build
	cd $(BUILD) && ctest -L unit -j$(JOBS) --output-on-failure

# The whole suite again, built with AddressSanitizer + UBSan, the
# fault-injection tests included (they run one at a time, next to the rest).
SAN_ENV = ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
          UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
test-sanitize: deps
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DXW_SANITIZE=ON >/dev/null
	@cmake --build $(ASAN_BUILD) -j$(JOBS)
	cd $(ASAN_BUILD) && $(SAN_ENV) ctest -L unit -j$(JOBS) --output-on-failure
	$(SAN_ENV) scripts/ctest-run $(ASAN_BUILD) -L integration -j$(ITEST_JOBS)

# Only the fault-injection tests, under the sanitizers.
test-sanitize-fault: deps
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DXW_SANITIZE=ON >/dev/null
	@cmake --build $(ASAN_BUILD) -j$(JOBS)
	cd $(ASAN_BUILD) && $(SAN_ENV) ctest -L fault --output-on-failure

demo: build
	@XW_BUILD_DIR=$(abspath $(BUILD)) scripts/demo

up: build
	@XW_BUILD_DIR=$(abspath $(BUILD)) scripts/xwstack up

down:
	@XW_BUILD_DIR=$(abspath $(BUILD)) scripts/xwstack down

status:
	@XW_BUILD_DIR=$(abspath $(BUILD)) scripts/xwstack status

# The end-to-end benchmark (docs/performance.md): ~10 minutes, or
# BENCH_QUICK=1 for < 2; results in bench/results/.
bench: build
	@XW_BUILD_DIR=$(abspath $(BUILD)) scripts/bench

# libFuzzer targets, each for FUZZ_SECONDS (corpus in tests/fuzz/corpus).
FUZZ_BUILD   ?= build-fuzz
FUZZ_SECONDS ?= 60
fuzz: deps
	@CC=clang cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=Debug -DXW_FUZZ=ON \
	  -DBUILD_TESTING=OFF >/dev/null
	@cmake --build $(FUZZ_BUILD) -j$(JOBS) --target fuzz_avro_decode fuzz_param fuzz_json_request
	@for t in avro_decode param json_request; do \
	  mkdir -p $(FUZZ_BUILD)/corpus/$$t; \
	  echo "fuzz_$$t: $(FUZZ_SECONDS) s"; \
	  if ! $(FUZZ_BUILD)/tests/fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) \
	      -max_len=65536 -print_final_stats=1 -artifact_prefix=$(FUZZ_BUILD)/ \
	      $(FUZZ_BUILD)/corpus/$$t tests/fuzz/corpus/$$t > $(FUZZ_BUILD)/fuzz_$$t.log 2>&1; then \
	    tail -40 $(FUZZ_BUILD)/fuzz_$$t.log; exit 1; \
	  fi; \
	  grep -E "stat::number_of_executed_units" $(FUZZ_BUILD)/fuzz_$$t.log; \
	done

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
