#!/usr/bin/env bash
# Build everything, boot MODE (check, run, bench or stress) and judge the
# console.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

mode=${1:?usage: run-mode.sh check|run|bench|stress}
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
# What the programs printed comes after the verdict, even a failing one.
# The KUnit suites built in must have reported, every case counted.
kunit=$(kunit_suites | paste -sd, -)
vrc=0
python3 "$TOP/scripts/verdict.py" "$OUT/console-$mode.log" $flag ${kunit:+--kunit "$kunit"} |
	tee "$OUT/verdict-$mode.txt" || vrc=$?
if [ "$mode" = run ]; then
	step "what the demo showed"
	sed -n '/^# selftest: privmem_\(secret_free_\)\?demo/,/^\(not \)\?ok /{/^# [^#]/{/selftest:/d;s/^# //p}}' \
		"$OUT/console-$mode.log"
fi
if [ "$mode" = bench ]; then
	# The ratios, as the benchmark printed them (the guest's init
	# prefixes program output with '# ').
	step "ratios measured in one boot"
	sed -n 's/^# \([a-z0-9_]*: [0-9.][0-9.]*\)\r\?$/\1/p' "$OUT/console-$mode.log"
fi
if [ "$mode" = stress ]; then
	# The stress test's and the fuzzer's summaries (the guest's init and
	# kselftest each prefix program output with '# ').
	step "what the long runs counted"
	sed -n '/^# selftest: \(private_mem_stress_test\|privmem_fuzz\|trinity_guests\)/,/^\(not \)\?ok /{
		s/^# # \(.*\(s, [0-9]* VMs:\|conversions:\|punches:\|pre-faults:\|guest data lost:\|calls in \).*\)\r\?$/\1/p
		s/^# # \(seed .*\)\r\?$/\1/p
		s/^# \(trinity calls: .*\|kernel taint: .*\|guest data lost: .*\)\r\?$/\1/p
	}' "$OUT/console-$mode.log"
fi
exit $vrc
