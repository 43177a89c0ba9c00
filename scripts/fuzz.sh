#!/usr/bin/env bash
# Runs every libFuzzer target of a test build for a longer time than `make test` does.
# Usage: scripts/fuzz.sh BUILD_DIR SECONDS_EACH
set -euo pipefail
build=${1:?build dir}
seconds=${2:-600}
root=$(cd "$(dirname "$0")/.." && pwd)
status=0
for bin in "$build"/fuzz/fuzz_*; do
	[ -x "$bin" ] || continue
	name=$(basename "$bin")
	name=${name#fuzz_}
	work="$build/fuzz/corpus-$name"
	mkdir -p "$work"
	seeds=()
	[ -d "$root/fuzz/corpus/$name" ] && seeds=("$root/fuzz/corpus/$name")
	echo "== fuzz_$name for ${seconds}s"
	"$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 "$work" "${seeds[@]}" || status=1
done
exit $status
