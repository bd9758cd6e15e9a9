#!/usr/bin/env bash
# The boots of `make check`: build, boot and judge each VARIANT in turn
# (default, then distro).  A failing variant does not stop the next one;
# the end is one summary line per variant and then their total, in
# verdict.py's format, and the exit status is non-zero if any failed.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

variants=("$@")
[ ${#variants[@]} -gt 0 ] || variants=(default distro)

rc=0
lines=()
for v in "${variants[@]}"; do
	summary=$TOP/build/$v/verdict-check.txt
	rm -f "$summary"
	VARIANT=$v "$TOP/scripts/run-mode.sh" check || rc=1
	line=$(tail -1 "$summary" 2>/dev/null)
	# No summary: the build or the boot failed before a verdict.
	[[ "$line" =~ ^[0-9]+\ passed,\ [0-9]+\ failed,\ [0-9]+\ skipped$ ]] ||
		{ line="0 passed, 1 failed, 0 skipped (no verdict: build failed?)"; rc=1; }
	lines+=("$v: $line")
done

[ ${#variants[@]} -gt 1 ] || exit $rc
step "verdicts (check): ${variants[*]}"
p=0 f=0 s=0
for l in "${lines[@]}"; do
	echo "$l"
	read -r a _ b _ c _ <<< "${l#*: }"
	p=$((p + a)) f=$((f + b)) s=$((s + c))
done
echo "$p passed, $f failed, $s skipped"
exit $rc
