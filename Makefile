# xwdeploy - the two commands a user needs are `make demo` and `make test`.
# Everything installs what is missing first (scripts/install-deps).

BUILD      ?= build
ASAN_BUILD ?= build-asan
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_ARGS ?=

.PHONY: all deps build test test-unit test-sanitize demo up down status clean fuzz bench

all: build

deps:
	@scripts/install-deps

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_ARGS) >/dev/null
	@cmake --build $(BUILD) -j$(JOBS)

# Unit tests in parallel, integration tests one at a time (each starts its
# own redis-server, broker and services).
test: build
	cd $(BUILD) && ctest -L unit -j$(JOBS) --output-on-failure
	cd $(BUILD) && ctest -L integration --output-on-failure

test-unit: build
	cd $(BUILD) && ctest -L unit -j$(JOBS) --output-on-failure

# The whole suite again, built with AddressSanitizer + UBSan.
test-sanitize: deps
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DXW_SANITIZE=ON >/dev/null
	@cmake --build $(ASAN_BUILD) -j$(JOBS)
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest -j$(JOBS) --output-on-failure

demo: build
	@XW_BUILD_DIR=$(abspath $(BUILD)) scripts/demo

up: build
	@XW_BUILD_DIR=$(abspath $(BUILD)) scripts/xwstack up

down:
	@XW_BUILD_DIR=$(abspath $(BUILD)) scripts/xwstack down

status:
	@XW_BUILD_DIR=$(abspath $(BUILD)) scripts/xwstack status

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
