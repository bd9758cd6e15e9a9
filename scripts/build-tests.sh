#!/usr/bin/env bash
# Build the guest programs listed in tests/guest.list, statically, against
# the tree's own uAPI headers.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

cd "$TREE"
step "installing uAPI headers"
make -s headers_install >/dev/null

kst=$TREE/tools/testing/selftests/kvm
# Entries starting with @ are scripts, not selftests.
targets=$(awk '!/^#/ && NF && $2 !~ /^@/ { print $2 }' "$TOP/tests/guest.list" | sort -u)
step "building guest programs: $(echo $targets | wc -w) targets"
log=$OUT/selftests.log
# shellcheck disable=SC2046
if ! make -C "$kst" -j"$JOBS" OUTPUT="$kst" EXTRA_CFLAGS="-static ${SELFTEST_CFLAGS:-}" LDFLAGS=-static \
		$(for t in $targets; do echo "$kst/$t"; done) > "$log" 2>&1; then
	grep -E 'error|Error' "$log" | head -40 >&2
	die "guest program build failed; full log in $log"
fi
