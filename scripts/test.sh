#!/usr/bin/env bash
# Set everything up, then run the whole test suite: pytest and the C++ tests (ctest).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

echo "test: C++ tests"
pybind11_dir=$(.venv/bin/python -m pybind11 --cmakedir)
cmake -S . -B build/ctest -DCMAKE_BUILD_TYPE=RelWithDebInfo -DEMOMIX_BUILD_TESTS=ON \
  -Dpybind11_DIR="$pybind11_dir" -DPython_EXECUTABLE="$PWD/.venv/bin/python" >/dev/null
cmake --build build/ctest -j 2 >/dev/null
ctest --test-dir build/ctest --output-on-failure

# The C ABI's create/use/destroy loop under valgrind's leak checker (about 10 s). Only definite and
# indirect leaks fail it: libespeak-ng's own thread keeps a "possibly lost" block for good.
# Mismatched frees are not reported: the test replaces operator new/delete to count allocations.
if command -v valgrind >/dev/null 2>&1; then
  echo "test: C ABI leak check under valgrind"
  valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect \
    --show-mismatched-frees=no --error-exitcode=1 \
    build/ctest/native/tests/emomix_capi_stream_test voices/default \
    create_use_destroy_loop_frees_everything
else
  echo "test: skipped the valgrind leak check of the C ABI: valgrind is not installed"
fi

# The C++ tests again under AddressSanitizer + UndefinedBehaviorSanitizer (no Python module, no
# CUDA), with the portable fallback GEMM instead of OpenBLAS so that path is exercised too. The C ABI
# tests (capi.*) run here too: their create/use/destroy loop is LeakSanitizer's leak check of it.
echo "test: C++ tests with address + undefined-behaviour sanitizers"
sanitize="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all"
cmake -S . -B build/asan -DCMAKE_BUILD_TYPE=Debug -DEMOMIX_BUILD_TESTS=ON \
  -DEMOMIX_BUILD_PYTHON=OFF -DEMOMIX_CUDA=OFF -DEMOMIX_BLAS=OFF \
  -DCMAKE_CXX_FLAGS="-O1 $sanitize" -DCMAKE_EXE_LINKER_FLAGS="$sanitize" >/dev/null
cmake --build build/asan -j 2 >/dev/null
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir build/asan --output-on-failure

# The thread pool, the multi-threaded graphs, the text frontend's lock around espeak-ng and the C
# ABI (the stream's producer and audio thread, characters on threads sharing a voice) under
# ThreadSanitizer.
echo "test: C++ thread tests with the thread sanitizer"
cmake -S . -B build/tsan -DCMAKE_BUILD_TYPE=Debug -DEMOMIX_BUILD_TESTS=ON \
  -DEMOMIX_BUILD_PYTHON=OFF -DEMOMIX_CUDA=OFF -DEMOMIX_BLAS=OFF \
  -DCMAKE_CXX_FLAGS="-O1 -fsanitize=thread" -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=thread" >/dev/null
cmake --build build/tsan -j 2 --target emomix_core_tests emomix_text_tests \
  emomix_capi_stream_test >/dev/null
TSAN_OPTIONS=halt_on_error=1 ctest --test-dir build/tsan --output-on-failure \
  -R "thread_pool|session_|gemm|attention|conv1d|text_phonemize|capi\\."

# The voice.json reader/validator, the safetensors header parser, the text frontend and the C ABI
# under libFuzzer (clang, ASan + UBSan, leaks): a short run from the seed corpus generated from the
# default voice. The long run (1,000,000 inputs per target) is `bash scripts/fuzz.sh`.
echo "test: fuzzing voice.json, the safetensors header, the text frontend and the C ABI (25 s each)"
bash scripts/fuzz.sh --seconds 25

echo "test: Python tests"
.venv/bin/python -m pytest -q tests "$@"
