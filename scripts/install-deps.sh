#!/bin/sh
# Install the Debian packages Meridian builds, tests and benchmarks with.
# Idempotent: asks apt-get only for what dpkg says is missing, so a machine that
# already has everything does no network work at all. Needs root (or sudo) only
# when something is missing.
set -eu

PACKAGES="
build-essential cmake pkg-config git make gcc
libuv1-dev libssl-dev openssl zlib1g-dev libsqlite3-dev sqlite3 libyaml-dev libexpat1-dev
liblua5.4-dev libcurl4-openssl-dev curl node-llhttp libcmocka-dev
python3 python3-pytest python3-boto3 python3-botocore python3-awscrt
python3-cryptography
clang libclang-rt-14-dev clang-format valgrind
nginx-light wrk
awscli rclone s3cmd
"

missing=""
for p in $PACKAGES; do
	status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$status" in
	"install ok installed") ;;
	*) missing="$missing $p" ;;
	esac
done

[ -z "$missing" ] && exit 0

echo "install-deps: installing:$missing"
SUDO=""
if [ "$(id -u)" != 0 ]; then
	if command -v sudo >/dev/null 2>&1; then
		SUDO="sudo"
	else
		echo "install-deps: need root to install:$missing" >&2
		exit 1
	fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
# shellcheck disable=SC2086
$SUDO apt-get install -y -q --no-install-recommends $missing
