#!/bin/sh
# Mechanical rules (../shared/docs/STYLE.md §14): banned C functions and
# clang-format conformance over every tracked C file. Exit 1 on any finding.
set -u
cd "$(dirname "$0")/.."
files=$(git ls-files '*.c' '*.h')
status=0

banned='\b(v?sprintf|strcpy|strcat|strncpy|strtok|atoi|gets|rand|alloca|system)[[:space:]]*\('
if grep -nE "$banned" $files; then
	echo "lint: banned function above (use snprintf, memcpy, strtoul, ...)" >&2
	status=1
fi

if ! clang-format --dry-run --Werror $files 2>/dev/null; then
	clang-format --dry-run $files 2>&1 | grep -E '^[^ ]+:[0-9]+:[0-9]+: ' | cut -d: -f1 | sort -u |
		sed 's/^/lint: not clang-formatted: /' >&2
	echo "lint: run 'make format'" >&2
	status=1
fi
[ $status -eq 0 ] && echo "lint: ok ($(echo "$files" | wc -w) files)"
exit $status
