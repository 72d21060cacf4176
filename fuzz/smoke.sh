#!/usr/bin/env bash
# Runs every fuzz target for a short time from its committed seeds and fails on any finding.
#
# Usage: fuzz/smoke.sh [SECONDS]   (default 20 seconds a target)
#
# It needs a nightly toolchain and cargo-fuzz; without them it prints one line and succeeds, so
# that it can run anywhere. A crash, timeout or out-of-memory stops the target, leaves the input
# under fuzz/artifacts/<target>/, and makes the script exit with status 1 once every target has
# run.
set -euo pipefail

seconds="${1:-20}"
if ! [[ "$seconds" =~ ^[1-9][0-9]*$ ]]; then
    echo "usage: fuzz/smoke.sh [SECONDS], SECONDS a positive whole number" >&2
    exit 2
fi
targets=(config idx checkpoint npz)

cd "$(dirname "$0")/.."
if ! cargo +nightly --version >/dev/null 2>&1; then
    echo "fuzz smoke test skipped: no nightly toolchain (rustup toolchain install nightly)"
    exit 0
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    echo "fuzz smoke test skipped: cargo-fuzz is not installed (cargo install cargo-fuzz)"
    exit 0
fi

cargo +nightly fuzz build

# New inputs go to a scratch corpus, so that the committed seeds stay as they are.
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT

failed=()
for target in "${targets[@]}"; do
    mkdir -p "$scratch/$target"
    echo "fuzzing $target for $seconds s"
    if ! cargo +nightly fuzz run "$target" "$scratch/$target" "fuzz/seeds/$target" -- \
        -max_total_time="$seconds" -rss_limit_mb=2048 -max_len=65536 -timeout=10 -print_final_stats=1; then
        failed+=("$target")
    fi
done

if ((${#failed[@]} > 0)); then
    echo "fuzz smoke test failed: ${failed[*]} (inputs under fuzz/artifacts/)" >&2
    exit 1
fi
echo "fuzz smoke test passed: ${targets[*]}, $seconds s each"
