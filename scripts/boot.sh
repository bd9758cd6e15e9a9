#!/usr/bin/env bash
# Boot bzImage with the MODE initramfs under TCG with nested SVM, print the
# console as it comes, and leave it in $OUT/console-MODE.log.
# Exit status: 0 when the guest powered off by itself, 124 on timeout.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

mode=${1:?usage: boot.sh check|run|bench|stress}
# Stress mode runs three long programs (~20 min, more under KASAN).
case "$mode" in
stress) limit=${BOOT_TIMEOUT:-4800} ;;
*) limit=${BOOT_TIMEOUT:-2400} ;;
esac
log=$OUT/console-$mode.log
mem=${GUEST_MEM:-3G}
smp=${GUEST_SMP:-2}
# 48 physical address bits, not TCG's default 40: where AMD puts the C-bit
# and a TD's shared bit (GPAW 48) must be inside the guest's address width.
cpu=${QEMU_CPU:-EPYC,+svm,phys-bits=48}

# Variant-specific kernel parameters: the distro kernel's tests run with
# page poisoning on (freed pages are filled with a pattern that is checked
# when they are allocated again).  Not its benchmark: distros build page
# poisoning in but leave it off.
vcmd=""
if [ "$VARIANT" = distro ] && [ "$mode" != bench ] && [ "$mode" != run ]; then
	vcmd="page_poison=1"
fi
# The distro kernel has privmem's 1 GiB page pool: its test and the bench
# use a page reserved at boot, while 1 GiB of contiguous memory can still
# be found (late in a boot that ran other tests it often cannot), and get
# that much more RAM.
if [ "$VARIANT" = distro ] && { [ "$mode" = check ] || [ "$mode" = bench ]; }; then
	vcmd="$vcmd privmem.gigantic_pages=1"
	mem=${GUEST_MEM:-4G}
fi

step "booting ($mode) under qemu TCG, -cpu $cpu, $smp CPUs, $mem (timeout ${limit}s)"
timeout -s KILL "$limit" qemu-system-x86_64 -nographic -no-reboot \
	-accel tcg -cpu "$cpu" -smp "$smp" -m "$mem" -net none \
	-kernel "$OUT/bzImage" -initrd "$OUT/initramfs-$mode.cpio.gz" \
	-append "console=ttyS0 panic=-1 oops=panic loglevel=4 $vcmd ${KCMDLINE:-}" \
	< /dev/null 2>"$OUT/qemu-$mode.stderr" | tee "$log"
rc=${PIPESTATUS[0]}
if [ "$rc" = 137 ]; then
	echo "boot: guest killed after ${limit}s" | tee -a "$log"
	exit 124
fi
exit 0
