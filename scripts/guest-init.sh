#!/bin/sh
# init of the test initramfs: run each program in /tests/list, wrap its output
# in TAP, and power off.  The host decides the verdict from the console.
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null

mode=$(cat /tests/mode)
# Per-program limit: set by mkinitramfs.sh for the mode, else 600 s.
timeout=$(cat /tests/timeout 2>/dev/null)
timeout=${timeout:-${PRIVMEM_TEST_TIMEOUT:-600}}
n=$(grep -c . /tests/list)
# Kernel modules to load first (KVM when built as modules), in load order;
# loading them is test 1, so a module that does not load fails the run.
mods=$(cat /tests/modules 2>/dev/null)
[ -n "$mods" ] && n=$((n + 1))
# KUnit suites built into the kernel ran before init: their results are one
# more entry, whose cases the verdict counts one by one.
kunit=$(cat /tests/kunit 2>/dev/null)
[ -n "$kunit" ] && n=$((n + 1))
# The marker must start a line: the firmware's last screen-clearing escape
# has no newline, and the kernel may print nothing after it (quiet).
echo
echo "=== PRIVMEM-TESTS-BEGIN mode=$mode ==="
echo "TAP version 13"
echo "1..$n"
i=0
if [ -n "$mods" ]; then
	i=1
	echo "# selftest: insmod" $mods
	bad=""
	for m in $mods; do
		insmod "/lib/modules/$m.ko" 2>&1 | sed 's/^/# /'
		grep -q "^$(echo "$m" | tr - _) " /proc/modules || bad="$bad $m"
	done
	if [ -n "$bad" ]; then
		echo "not ok 1 insmod # not loaded:$bad"
	elif [ ! -c /dev/kvm ]; then
		echo "not ok 1 insmod # modules loaded, but no /dev/kvm"
	else
		echo "ok 1 insmod"
	fi
fi
if [ -n "$kunit" ]; then
	i=$((i + 1))
	echo "# selftest: kunit" $kunit
	# KUnit prints its TAP at KERN_INFO, below the console's loglevel:
	# take it from the kernel log, from the first top-level version line
	# to the result of the last suite its plan announced (busybox dmesg
	# prints no level prefix; printk's timestamps are stripped).
	dmesg | sed 's/^<[0-9]*>//; s/^\[[^]]*\] //' | awk '
		!on && /^K?TAP version/ { on = 1; print; next }
		!on { next }
		!plan && /^1\.\.[0-9]+$/ { plan = substr($0, 4) + 0; print; next }
		/^(not )?ok [0-9]+ / { print; if (++done >= plan) exit; next }
		/^ *(K?TAP version|[0-9]+\.\.[0-9]+|#|ok |not ok )/ { print; next }
		/^    / { print }	# the lines of a failed expectation
	' > /tmp/kunit.tap
	sed 's/^/# /' /tmp/kunit.tap
	bad=""
	for s in $kunit; do
		grep -Eq "^ok [0-9]+ (- )?$s( |\$)" /tmp/kunit.tap || bad="$bad $s"
	done
	if [ ! -s /tmp/kunit.tap ]; then
		echo "not ok $i kunit # no KUnit output in the kernel log"
	elif [ -n "$bad" ]; then
		echo "not ok $i kunit # failed or missing:$bad"
	else
		echo "ok $i kunit"
	fi
fi
while read -r name args; do
	i=$((i + 1))
	echo "# selftest: $name $args"
	# Live output, prefixed like kselftest's runner; the exit code is kept
	# in a file because the pipe would lose it.
	# Pinned to CPU 0: QEMU 7.2's TCG nested SVM can corrupt a running
	# vCPU when a TLB shootdown IPI reaches its CPU.
	( cd /tmp && timeout -s KILL "$timeout" taskset 1 "/tests/$name" $args 2>&1
	  echo $? > /tmp/rc ) |
		sed 's/^/# /'
	rc=$(cat /tmp/rc)
	case "$rc" in
	0) echo "ok $i $name" ;;
	4) echo "ok $i $name # SKIP" ;;
	137) echo "not ok $i $name # TIMEOUT ${timeout}s" ;;
	*) echo "not ok $i $name # exit=$rc" ;;
	esac
done < /tests/list

if [ -w /sys/kernel/debug/kmemleak ]; then
	# Two scans: an object must look unreferenced in both to be reported.
	echo scan > /sys/kernel/debug/kmemleak
	sleep 1
	echo scan > /sys/kernel/debug/kmemleak
	cat /sys/kernel/debug/kmemleak
	echo "# kmemleak: scanned, $(grep -c 'unreferenced object' /sys/kernel/debug/kmemleak) leak(s) reported"
fi
echo "=== PRIVMEM-TESTS-END ==="
sync
poweroff -f
