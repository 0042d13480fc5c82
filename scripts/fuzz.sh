#!/bin/sh
# Run every fuzz target in BUILD_DIR for FUZZ_SECONDS each, starting from the
# committed corpus (copied, so the repository is never written). Prints one
# "fuzz: <target> ok|FAILED" line per target; exit 1 if any failed.
set -u
cd "$(dirname "$0")/.."
dir=${1:-build-fuzz}
secs=${FUZZ_SECONDS:-20}
status=0
for bin in "$dir"/fuzz_*; do
	[ -x "$bin" ] || continue
	name=$(basename "$bin")
	work=$(mktemp -d)
	[ -d "tests/fuzz/corpus/$name" ] && cp "tests/fuzz/corpus/$name"/* "$work"/ 2>/dev/null
	log="$work/log"
	dict=""
	case "$name" in
	fuzz_http_*) dict="-dict=tests/fuzz/http.dict" ;;
	esac
	# shellcheck disable=SC2086
	if "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -artifact_prefix="$work/" \
		$dict "$work" >"$log" 2>&1; then
		echo "fuzz: $name ok ($(grep -o 'exec/s: [0-9]*' "$log" | tail -1))"
	else
		echo "fuzz: $name FAILED (inputs kept in $work)"
		tail -40 "$log"
		ls "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-* 2>/dev/null
		status=1
		continue
	fi
	rm -rf "$work"
done
exit $status
