#!/usr/bin/env bash
# Build bzImage with ccache.  Cold: ~5 min on 2 cores; no change: seconds.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

cd "$TREE"
step "building bzImage ($VARIANT, -j$JOBS; cold ~5 min, incremental seconds)"
log=$OUT/kbuild.log
if ! make -j"$JOBS" CC="ccache gcc" W="${W:-}" bzImage > "$log" 2>&1; then
	grep -E 'error|Error' "$log" | head -40 >&2
	die "kernel build failed; full log in $log"
fi
grep -E 'warning:' "$log" | sort -u | head -20 >&2 || true
cp arch/x86/boot/bzImage "$OUT/bzImage"
step "bzImage ready ($(du -h "$OUT/bzImage" | cut -f1))"
