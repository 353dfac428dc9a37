#!/usr/bin/env bash
# Build the libFuzzer harnesses with clang and run each for SECONDS (default
# 15) from the committed corpus. A crash fails the run and leaves the input
# in build-fuzz/crashes/.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH=${1:-15}
CC=clang CXX=clang++ cmake -S . -B build-fuzz -DMEDREG_FUZZ=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
targets=(normalize psn_token module record internal_id consent csv oprf oprf_files json_walk dicom dicom_io codestream note report http)
cmake --build build-fuzz -j "$(nproc)" --target "${targets[@]/#/fuzz_}" >/dev/null
mkdir -p build-fuzz/crashes
for t in "${targets[@]}"; do
  work=build-fuzz/corpus/$t
  mkdir -p "$work"
  cp -n tests/fuzz/corpus/$t/* "$work"/ 2>/dev/null || true
  echo "fuzz: $t for ${SECONDS_EACH}s"
  MEDREG_FUZZ_MODULE=examples/hip.ini build-fuzz/tests/fuzz/fuzz_$t -max_total_time="$SECONDS_EACH" \
    -max_len=4096 -artifact_prefix=build-fuzz/crashes/$t- -print_final_stats=0 "$work" 2>&1 | grep -E '^Done|ERROR' || true
  if ls build-fuzz/crashes/$t-* >/dev/null 2>&1; then
    echo "fuzz: $t crashed; inputs in build-fuzz/crashes/" >&2
    exit 1
  fi
done
