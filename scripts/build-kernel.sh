#!/usr/bin/env bash
# Build bzImage with ccache.  Cold: ~5 min on 2 cores; no change: seconds.
# With CONFIG_MODULES (the distro variant) also the modules, installed
# stripped into $OUT/modroot for the initramfs.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

cd "$TREE"
targets=bzImage
modules=0
if grep -q '^CONFIG_MODULES=y' .config; then
	targets="bzImage modules"
	modules=1
fi
step "building $targets ($VARIANT, -j$JOBS; cold ~5 min, incremental seconds)"
log=$OUT/kbuild.log
# shellcheck disable=SC2086
if ! make -j"$JOBS" CC="ccache gcc" W="${W:-}" $targets > "$log" 2>&1; then
	grep -E 'error|Error' "$log" | head -40 >&2
	die "kernel build failed; full log in $log"
fi
grep -E 'warning:' "$log" | sort -u | head -20 >&2 || true
cp arch/x86/boot/bzImage "$OUT/bzImage"
rm -rf "$OUT/modroot"
if [ $modules = 1 ]; then
	if ! make -s INSTALL_MOD_PATH="$OUT/modroot" INSTALL_MOD_STRIP=1 \
			modules_install >> "$log" 2>&1; then
		tail -20 "$log" >&2
		die "modules_install failed; full log in $log"
	fi
	step "bzImage ready ($(du -h "$OUT/bzImage" | cut -f1)), $(find "$OUT/modroot" -name '*.ko' | wc -l) modules"
else
	step "bzImage ready ($(du -h "$OUT/bzImage" | cut -f1))"
fi
