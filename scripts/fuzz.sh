#!/usr/bin/env bash
# Fuzz the native voice.json reader/validator, the safetensors header parser and the C ABI with
# libFuzzer, under AddressSanitizer + UndefinedBehaviorSanitizer (leaks included); docs/native.md,
# "Fuzzing".
#
#   bash scripts/fuzz.sh                 the long run: 1,000,000 inputs per target
#   bash scripts/fuzz.sh --runs N        N inputs per target (--runs 1000000 is the default)
#   bash scripts/fuzz.sh --seconds S     S seconds per target (scripts/test.sh: a short run)
#   bash scripts/fuzz.sh --target voice_json|safetensors_header|text|capi ...   these targets only
#   bash scripts/fuzz.sh --jobs J        J processes per target sharing its corpus, the runs split
#                                        between them (one per core)
#
# Targets:
#   voice_json          native/fuzz/fuzz_voice_json.cpp: voice.json bytes
#   safetensors_header  native/fuzz/fuzz_safetensors_header.cpp: weights file bytes
#   text                native/fuzz/fuzz_text.cpp: text bytes through normalisation, sentence
#                       splitting, the number readers and (one input in 32) phonemisation
#   capi                native/fuzz/fuzz_capi.cpp: programs of emx_* calls (emomix.h) on a tiny
#                       random voice, with NULL handles, bad sizes, NaN weights, broken text,
#                       streams, and voice files loaded from mutated bytes. Each program renders
#                       audio: 60-120 programs a second per core (slower as the programs grow), so
#                       the 1,000,000 default takes about 2 hours with --jobs 2 on 2 cores.
#
# Builds $FUZZ_BUILD_DIR (default build/fuzz) with clang (-DEMOMIX_BUILD_FUZZERS=ON), writes the seed
# corpus and dictionaries generated from the default voice (native/fuzz/make_seeds.py) and a few
# seed programs for capi to <build>/seeds, and runs each target on its growing corpus
# <build>/corpus/<target> plus the seeds. A crash, leak, timeout or sanitizer report stops the script
# with a non-zero status; the reproducer is left in <build> (crash-*, leak-*, timeout-*) and the full
# log in <build>/<target>.log. Each run ends by printing libFuzzer's final stats
# (stat::number_of_executed_units ...). Reproduce one input: cd <build> && ./native/fuzz/fuzz_<target>
# crash-<hash>.
set -euo pipefail
cd "$(dirname "$0")/.."

runs=1000000
seconds=0
jobs=1
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --target) targets+=("$2"); shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    *) echo "usage: bash scripts/fuzz.sh [--runs N | --seconds S] [--jobs J] [--target NAME]..." >&2
       exit 2 ;;
  esac
done
[ ${#targets[@]} -gt 0 ] || targets=(voice_json safetensors_header text capi)

if ! command -v clang++ >/dev/null 2>&1; then
  echo "fuzz: clang++ is missing; bash scripts/setup.sh installs clang and libclang-rt-14-dev" >&2
  exit 1
fi

build=${FUZZ_BUILD_DIR:-build/fuzz}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_CXX_FLAGS="-O1 -g" -DEMOMIX_BUILD_FUZZERS=ON \
  -DEMOMIX_BUILD_PYTHON=OFF -DEMOMIX_BUILD_TESTS=OFF -DEMOMIX_CUDA=OFF -DEMOMIX_BLAS=OFF >/dev/null
cmake --build "$build" -j "${FUZZ_BUILD_JOBS:-2}" \
  --target "${targets[@]/#/fuzz_}" >/dev/null
python3 native/fuzz/make_seeds.py "$build/seeds" >/dev/null
# text: lines of game dialogue with numbers, money, abbreviations and marks (the first byte picks
# the sentence length and whether to phonemise: \x00 does)
mkdir -p "$build/seeds/text"
printf '\x00Well, look who it is! Ten gold coins, as promised.' >"$build/seeds/text/line"
printf '\x28Dr. Smith paid $3.50 on 12/05/1999 -- 23rd in line; "really?" (no).' \
  >"$build/seeds/text/numbers"
printf '\x08\xc3\xa9t\xc3\xa9 na\xc3\xafve caf\xc3\xa9\xe2\x80\x94 1,000,000th\xe2\x80\xa6' \
  >"$build/seeds/text/unicode"
# capi: programs (native/fuzz/fuzz_capi.cpp's opcodes) that make a character, read a line of it, and
# stream two lines; the fuzzer grows the rest from them.
mkdir -p "$build/seeds/capi"
read4='\x20\xff\x00\x00\x00\x10'
printf '\x03\x00\x02\x00\x00\x0d\x00\x02\x00\x00\x10\x0e\x00\x03'"$read4$read4$read4$read4" \
  >"$build/seeds/capi/line"
printf '\x03\x00\x02\x00\x00\x13\x00\x00\x00\x00\x00\x00\x14\x00\x00\x00\x14\x00\x02\x00\x15\x00\x07'"$read4$read4$read4$read4$read4$read4$read4$read4" \
  >"$build/seeds/capi/stream"

for target in "${targets[@]}"; do
  corpus="$build/corpus/$target"
  mkdir -p "$corpus"
  # each job runs its share of the runs (the first takes the remainder) or all the seconds
  if [ "$seconds" -gt 0 ]; then limit=(-max_total_time="$seconds"); else limit=(-runs="$runs"); fi
  dict=()
  [ -f "$build/seeds/$target.dict" ] && dict=(-dict="seeds/$target.dict")
  echo "fuzz: $target ${limit[*]} in $jobs job(s) (corpus $corpus, seeds $build/seeds/$target)"
  logs=()
  pids=()
  for ((job = 0; job < jobs; ++job)); do
    log="$build/$target.log"
    [ "$jobs" -gt 1 ] && log="$build/$target.$job.log"
    if [ "$seconds" -eq 0 ]; then
      share=$((runs / jobs))
      [ "$job" -eq 0 ] && share=$((share + runs % jobs))
      limit=(-runs="$share")
    fi
    (cd "$build" && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
        UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        exec "./native/fuzz/fuzz_$target" "${limit[@]}" -timeout=10 -print_final_stats=1 \
        ${dict[@]+"${dict[@]}"} "corpus/$target" "seeds/$target") >"$log" 2>&1 &
    logs+=("$log")
    pids+=($!)
  done
  failed=0
  for job in "${!pids[@]}"; do
    status=0
    wait "${pids[$job]}" || status=$?
    log=${logs[$job]}
    grep -E "^#[0-9]+[[:space:]]+(INITED|DONE)|^Done [0-9]+ runs|^stat::" "$log" || true
    if [ "$status" -ne 0 ]; then
      echo "fuzz: $target FAILED (exit $status); the end of $log:" >&2
      tail -n 40 "$log" >&2
      failed=$status
    fi
  done
  [ "$failed" -eq 0 ] || exit "$failed"
  if [ "$jobs" -gt 1 ]; then
    total=$(cat "${logs[@]}" | sed -n 's/^stat::number_of_executed_units: *//p' |
      awk '{ n += $1 } END { print n + 0 }')
    echo "fuzz: $target ran $total inputs in $jobs jobs"
  fi
done
