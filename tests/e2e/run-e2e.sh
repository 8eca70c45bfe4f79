#!/bin/sh
# SPDX-License-Identifier: MIT
#
# run-e2e.sh NOTES TEST [ARGS...]: run the e2e criterion binary (its TAP
# report on stdout for meson), then print the facts it noted in NOTES
# (timings, rates, what the guest saw) as TAP comments, so they land in
# meson's testlog.txt. With --tap, criterion shows neither a test's own
# output nor its info messages. Exits with the test's status.
notes=$1
shift
: >"$notes"
E2E_NOTES=$notes "$@"
rc=$?
sed 's/^/# /' "$notes"
exit $rc
