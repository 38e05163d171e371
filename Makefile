# Thin wrapper around the README's commands; the real build is CMake.
#   make run       the main job: the validation harness on generated fixtures
#   make test      the whole test suite (installs missing dependencies first)
#   make sanitize  the suite under ASan + UBSan
.PHONY: all deps build run test sanitize clean

all: build

deps:
	@bash ci/install-deps.sh
	@bash ci/install-transformers.sh

build: deps
	@cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build build -j $$(nproc)

run: build
	@bash ci/main-job.sh

test: deps
	@bash ci/test.sh

sanitize: deps
	@bash ci/sanitize.sh

clean:
	rm -rf build build-asan
