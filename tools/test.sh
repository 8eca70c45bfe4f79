#!/bin/sh
# The whole test suite: installs what is missing, then builds and runs every
# test twice, in a normal build and in an ASan+UBSan build, and runs each
# fuzz target under libFuzzer (clang). Exits non-zero if anything fails.
set -eu
cd "$(dirname "$0")/.."

./tools/deps.sh

run() {
	dir=$1; shift
	if [ -d "$dir" ]; then
		meson setup --reconfigure "$dir" "$@" >/dev/null
	else
		meson setup "$dir" "$@" >/dev/null
	fi
	ninja -C "$dir"
	meson test -C "$dir" --print-errorlogs --num-processes 2
}

echo "== normal build =="
run build
echo "== ASan+UBSan build =="
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	run build-asan -Db_sanitize=address,undefined -Db_lundef=false \
	-Dvalgrind=false
echo "== libFuzzer build (clang): a short run of every fuzz target =="
CC=clang-14 run build-fuzz -Dfuzz=true -Dtests=false -Db_lundef=false \
	-Dvalgrind=false
echo "== all tests passed: normal, ASan+UBSan, fuzz =="
