#!/usr/bin/env bash
# Host-side tests of the verdict logic: each console log in tests/verdict/
# must give the exit code and summary line listed in tests/verdict/expected.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

dir=$TOP/tests/verdict
pass=0 fail=0
while read -r log rc a b c d e f extra; do
	case "$log" in ''|'#'*) continue ;; esac
	want="$a $b $c $d $e $f"
	flags=()
	case "${extra:-}" in
	timed-out) flags=(--timed-out) ;;
	kunit=*) flags=(--kunit "${extra#kunit=}") ;;
	esac
	out=$(python3 "$TOP/scripts/verdict.py" "$dir/$log" "${flags[@]}")
	got_rc=$?
	got=$(echo "$out" | tail -1)
	if [ "$got_rc" = "$rc" ] && [ "$got" = "$want" ]; then
		echo "ok - verdict $log"
		pass=$((pass + 1))
	else
		echo "not ok - verdict $log: want rc=$rc '$want', got rc=$got_rc '$got'"
		fail=$((fail + 1))
	fi
done < "$dir/expected"
echo "verdict tests: $pass passed, $fail failed"
[ "$fail" = 0 ]
