#!/usr/bin/env bash
# Fuzzes the parsers that take untrusted input — resident ID numbers, senior import
# files (CSV and XLSX), community boundaries (GeoJSON) — with cargo-fuzz.
#
#   tests/reliability/fuzz.sh [seconds-per-target]     (default 180)
#
# FUZZ_BUILD_ONLY=1 stops after the build (CI builds while other checks run).
# FUZZ_PROFILE=dev builds unoptimized and without debug info: a cold build in a
# fifth of the time, for CI's short run (the importer then runs far fewer inputs a
# second; the documented runs use the default, optimized build).
# Runs every target for that long, starting from the seeds in fuzz/seeds/<target>
# and the corpus kept in fuzz/corpus/<target>. Exits nonzero when any target found a
# crash, a timeout or an out-of-memory, naming the input saved under fuzz/artifacts/.
set -euo pipefail

seconds="${1:-180}"
if ! [[ "$seconds" =~ ^[1-9][0-9]*$ ]]; then
  echo "usage: $0 [seconds-per-target]" >&2
  exit 2
fi
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"

# Each target with the longest input worth trying.
targets=(resident_id:64 boundary:16384 import:65536)

# cargo-fuzz passes nightly-only flags to rustc and cargo: let a stable toolchain take them.
export RUSTC_BOOTSTRAP=1
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "==> installing cargo-fuzz"
  cargo install cargo-fuzz --locked
fi

# The server forbids unsafe code: we hunt panics, hangs and runaway memory, which need
# no sanitizer, and the build and the runs are faster without one.
build=(--sanitizer none --codegen-units 16)
timeout=10
if [ "${FUZZ_PROFILE:-release}" = dev ]; then
  build=(--sanitizer none --dev)
  export CARGO_PROFILE_DEV_DEBUG=0
  # Unoptimized code is many times slower: a thin boundary 1,500 km long took 47 s to
  # tile in this build. Only a real hang should fail this build's short run.
  timeout=120
fi

echo "==> building the fuzz targets"
start=$SECONDS
cargo fuzz build "${build[@]}"
echo "==> built in $((SECONDS - start))s"
if [ -n "${FUZZ_BUILD_ONLY:-}" ]; then
  exit 0
fi

failed=()
for entry in "${targets[@]}"; do
  target="${entry%%:*}"
  max_len="${entry##*:}"
  corpus="$root/fuzz/corpus/$target"
  artifacts="$root/fuzz/artifacts/$target"
  mkdir -p "$corpus" "$artifacts"
  marker="$(mktemp)"
  echo "==> $target: fuzzing for ${seconds}s (inputs up to $max_len bytes)"
  if cargo fuzz run "${build[@]}" "$target" "$corpus" "$root/fuzz/seeds/$target" -- \
    -max_total_time="$seconds" -max_len="$max_len" -rss_limit_mb=2048 -timeout="$timeout" \
    -artifact_prefix="$artifacts/" -print_final_stats=1; then
    echo "==> $target: no failure in ${seconds}s"
  else
    failed+=("$target")
    echo "==> $target FAILED; reproduce with: RUSTC_BOOTSTRAP=1 cargo fuzz run ${build[*]} $target <input>"
    find "$artifacts" -type f -newer "$marker" -printf '    input: %p\n'
  fi
  rm -f "$marker"
done

if ((${#failed[@]})); then
  echo "==> failures in: ${failed[*]}"
  exit 1
fi
echo "==> every target ran ${seconds}s without a failure"
