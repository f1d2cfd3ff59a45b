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

echo "test: Python tests"
.venv/bin/python -m pytest -q tests "$@"
