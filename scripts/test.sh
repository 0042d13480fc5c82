#!/bin/sh
# `make test`: build; unit tests (cmocka under ctest); scenario tests (pytest on
# /usr/bin/python3, real binaries); the unit and scenario tests again under
# ASan+UBSan; lint; a short fuzz smoke of every target. Each step's results are
# counted, and the last line is "N passed, N failed". Exit 1 if anything failed.
set -u
cd "$(dirname "$0")/.."
top=$(pwd)
jobs=${JOBS:-$(nproc 2>/dev/null || echo 2)}
results="$top/build/test-results"
rm -rf "$results"
mkdir -p "$results"
extra_passed=0
extra_failed=0

step() { printf '\n== %s\n' "$*"; }
ok() { extra_passed=$((extra_passed + 1)); }
bad() { extra_failed=$((extra_failed + 1)); echo "FAILED: $*"; }

# $1 build dir, $2 label, then cmake options
build() {
	dir=$1
	label=$2
	shift 2
	step "build ($label)"
	if cmake -S . -B "$dir" "$@" >"$results/cmake-$label.log" 2>&1 &&
		cmake --build "$dir" -j"$jobs" >"$results/build-$label.log" 2>&1; then
		if grep -E 'warning:' "$results/build-$label.log"; then
			bad "compiler warnings in the $label build"
			return 1
		fi
		ok
		return 0
	fi
	tail -n 40 "$results/build-$label.log" "$results/cmake-$label.log"
	bad "$label build"
	return 1
}

# $1 build dir, $2 label. cmocka writes $1/test-results/cmocka/<program>.xml.
unit() {
	step "unit tests ($2)"
	rm -rf "$1/test-results/cmocka"
	mkdir -p "$1/test-results/cmocka"
	(cd "$1" && CMOCKA_MESSAGE_OUTPUT=xml \
		ctest --output-on-failure --output-junit "$results/ctest-$2.xml" -j"$jobs") ||
		echo "(ctest reported failures)"
	cp -r "$1/test-results/cmocka" "$results/cmocka-$2"
}

# $1 meridian binary, $2 label
scenario() {
	step "scenario tests ($2)"
	MERIDIAN_BIN="$1" /usr/bin/python3 -m pytest -q -p no:cacheprovider \
		--junitxml="$results/pytest-$2.xml" tests/integration
	rc=$?
	[ $rc -eq 5 ] && bad "pytest collected no tests ($2)"
	[ $rc -ne 0 ] && [ $rc -ne 1 ] && [ $rc -ne 5 ] && bad "pytest exited $rc ($2)"
}

./scripts/install-deps.sh || bad "install-deps"

if build build release -DCMAKE_BUILD_TYPE=RelWithDebInfo; then
	unit build release
	scenario "$top/build/meridian" release
fi

if build build-asan asan -DCMAKE_BUILD_TYPE=Debug -DMERIDIAN_SANITIZE=ON; then
	export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
	export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
	unit build-asan asan
	# Peak-RSS bounds are checked in the release run; ASan's shadow memory
	# and quarantine make them meaningless here.
	MERIDIAN_SANITIZED=1 scenario "$top/build-asan/meridian" asan
	unset ASAN_OPTIONS UBSAN_OPTIONS
fi

step lint
if ./scripts/lint.sh; then ok; else bad lint; fi

if CC=clang build build-fuzz fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMERIDIAN_FUZZ=ON; then
	step "fuzz smoke (${FUZZ_SECONDS:-20}s per target)"
	for line in $(FUZZ_SECONDS=${FUZZ_SECONDS:-20} ./scripts/fuzz.sh build-fuzz | tee "$results/fuzz.log" |
		sed -n 's/^fuzz: \([^ ]*\) \(ok\|FAILED\).*/\1:\2/p'); do
		case "$line" in
		*:ok) ok ;;
		*) bad "fuzz ${line%%:*}" ;;
		esac
	done
	cat "$results/fuzz.log"
fi

step summary
/usr/bin/python3 - "$results" "$extra_passed" "$extra_failed" <<'PY'
import glob, os, sys
import xml.etree.ElementTree as ET

results, passed, failed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])

def cases(path):
    try:
        root = ET.parse(path).getroot()
    except (ET.ParseError, OSError):
        return None
    return root.iter("testcase")

def bad(case):
    return any(case.find(t) is not None for t in ("failure", "error"))

def skipped(case):
    return case.find("skipped") is not None

for label in ("release", "asan"):
    # ctest has one case per program (a crash shows only there); each
    # program's cmocka XML has its cases.
    ctest = os.path.join(results, f"ctest-{label}.xml")
    for prog in (cases(ctest) or []) if os.path.exists(ctest) else []:
        name = prog.get("name")
        xml = os.path.join(results, f"cmocka-{label}", f"{name}.xml")
        inner = list(cases(xml) or []) if os.path.exists(xml) else []
        inner_bad = sum(1 for c in inner if bad(c))
        passed += len(inner) - inner_bad
        failed += inner_bad
        if not inner or (bad(prog) and not inner_bad):
            failed += 1
            print(f"{label}: {name} crashed or wrote no results")
    py = os.path.join(results, f"pytest-{label}.xml")
    for c in (cases(py) or []) if os.path.exists(py) else []:
        if skipped(c):
            failed += 1
            print(f"skipped test counts as failed: {c.get('classname')}::{c.get('name')}")
        elif bad(c):
            failed += 1
        else:
            passed += 1
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
PY
