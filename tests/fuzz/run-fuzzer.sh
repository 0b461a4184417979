#!/bin/sh
# run-fuzzer.sh FUZZER SEED-DIR RUNS [DICT]: a bounded libFuzzer run from the checked-in seeds (new inputs go
# to a scratch directory). Fails on any crash, leak, sanitizer report or timeout.
set -eu
[ $# -ge 3 ] || { echo "usage: $0 FUZZER SEED-DIR RUNS [DICT]" >&2; exit 2; }
work=$(mktemp -d "${TMPDIR:-/tmp}/earlyroot-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT
"$1" -runs="$3" -seed=1 -max_len=4096 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 ${4:+-dict="$4"} \
	"$work" "$2"
