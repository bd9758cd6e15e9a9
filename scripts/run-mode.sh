#!/usr/bin/env bash
# Build everything, boot MODE (check, run or bench) and judge the console.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

mode=${1:?usage: run-mode.sh check|run|bench}
"$TOP/scripts/deps.sh"
"$TOP/scripts/assemble.sh"
"$TOP/scripts/configure.sh"
"$TOP/scripts/build-kernel.sh"
"$TOP/scripts/build-tests.sh"
"$TOP/scripts/mkinitramfs.sh" "$mode"

rc=0
"$TOP/scripts/boot.sh" "$mode" || rc=$?
flag=""
[ "$rc" = 124 ] && flag=--timed-out
step "verdict ($mode, $VARIANT)"
# The summary line is also kept for scripts/check.sh's closing summary.
python3 "$TOP/scripts/verdict.py" "$OUT/console-$mode.log" $flag | tee "$OUT/verdict-$mode.txt"
if [ "$mode" = run ]; then
	step "what the demo showed"
	sed -n '/^# selftest: privmem_demo/,/^\(not \)\?ok /{/^# [^#]/{/selftest:/d;s/^# //p}}' \
		"$OUT/console-$mode.log"
fi
if [ "$mode" = bench ]; then
	# The ratios, as the benchmark printed them (the guest's init
	# prefixes program output with '# ').
	step "ratios measured in one boot"
	sed -n 's/^# \([a-z0-9_]*: [0-9.][0-9.]*\)\r\?$/\1/p' "$OUT/console-$mode.log"
fi
