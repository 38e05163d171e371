# Thin wrapper around the README's commands; the real build is CMake.
#   make run       the main job: the validation harness on generated fixtures
#   make test      the whole test suite (installs missing dependencies first)
#   make sanitize  the suite under ASan + UBSan
.PHONY: all deps deps-hf build run test sanitize clean

all: build

deps:
	@bash ci/install-deps.sh

# torch + transformers (about 4.6 GB) for the transformers baseline: the
# test suite needs it, the main job does not.
deps-hf: deps
	@bash ci/install-transformers.sh

build: deps
	@cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build build -j $$(nproc)

run: build
	@bash ci/main-job.sh

test: deps-hf
	@bash ci/test.sh

sanitize: deps
	@bash ci/sanitize.sh

clean:
	rm -rf build build-asan
