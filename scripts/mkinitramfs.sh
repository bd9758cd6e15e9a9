#!/usr/bin/env bash
# Pack busybox, the guest programs for MODE and an init that runs them into
# $OUT/initramfs-MODE.cpio.gz.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

mode=${1:?usage: mkinitramfs.sh check|run|bench|stress}
root=$OUT/initramfs-$mode
rm -rf "$root"
mkdir -p "$root"/{bin,dev,proc,sys,tmp,tests}
cp /bin/busybox "$root/bin/busybox"
ln -s busybox "$root/bin/sh"

kst=$TREE/tools/testing/selftests/kvm
: > "$root/tests/list"
# ONLY="name ..." keeps just those programs (for quick iterations); a
# directory in a name is ignored, and a name that matches nothing is an
# error rather than a run of KUnit alone.
only=""
for n in ${ONLY:-}; do only="$only $(basename "$n")"; done
while read -r m prog args; do
	case "$m" in ''|'#'*) continue ;; esac
	[ "$m" = "$mode" ] || continue
	if [ -n "$only" ] && ! echo "$only " | grep -q " $(basename "${prog#@}") "; then
		continue
	fi
	case "$prog" in
	@*)	# A script of scripts/guest/, not a selftest.
		name=${prog#@}
		cp "$TOP/scripts/guest/$name" "$root/tests/$name" ;;
	*)	name=$(basename "$prog")
		cp "$kst/$prog" "$root/tests/$name" ;;
	esac
	echo "$name $args" >> "$root/tests/list"
done < "$TOP/tests/guest.list"
for n in $only; do
	grep -q "^$n\( \|$\)" "$root/tests/list" ||
		die "ONLY names '$n', which tests/guest.list has not for mode $mode"
done

# trinity_guests runs Debian's trinity (dynamically linked: with its
# libraries) next to the stress test.
if [ -f "$root/tests/trinity_guests" ]; then
	command -v trinity >/dev/null || die "trinity is not installed (scripts/deps.sh)"
	cp "$(command -v trinity)" "$root/bin/trinity"
	for lib in $(ldd "$(command -v trinity)" | grep -o '/[^ ]*'); do
		mkdir -p "$root$(dirname "$lib")"
		cp -L "$lib" "$root$lib"
	done
	mkdir -p "$root/etc"
	cp -n "$kst/x86_64/private_mem_stress_test" "$root/tests/"
fi
if [ "${INJECT_FAIL:-0}" = 1 ]; then
	# A program that fails on purpose, to show the verdict catches it.
	printf '#!/bin/sh\necho "not ok 1 injected failure"\nexit 1\n' > "$root/tests/injected_failure"
	chmod +x "$root/tests/injected_failure"
	echo "injected_failure" >> "$root/tests/list"
fi

# KVM built as modules (the distro variant): the vendor module for the
# guest's CPU (-cpu EPYC: kvm-amd) and what it depends on, in load order,
# for the init to insmod before the tests.
: > "$root/tests/modules"
if grep -q '^CONFIG_KVM=m' "$TREE/.config"; then
	moddir=$(echo "$OUT"/modroot/lib/modules/*)
	[ -f "$moddir/modules.dep" ] || die "CONFIG_KVM=m but no modules installed in $OUT/modroot"
	mkdir -p "$root/lib/modules"
	for m in ${GUEST_MODULES:-kvm-amd}; do
		dep=$(grep "/$m\.ko:" "$moddir/modules.dep") ||
			die "$m.ko was not built (see $moddir/modules.dep)"
		# modules.dep lists a module's dependencies last-loaded first.
		# shellcheck disable=SC2086
		for f in $(echo ${dep#*:} | tr ' ' '\n' | tac) "${dep%%:*}"; do
			name=$(basename "$f" .ko)
			grep -qx "$name" "$root/tests/modules" && continue
			cp "$moddir/$f" "$root/lib/modules/"
			echo "$name" >> "$root/tests/modules"
		done
	done
fi

# KUnit suites built into the kernel: the init reports their results.
kunit_suites > "$root/tests/kunit"

cp "$TOP/scripts/guest-init.sh" "$root/init"
chmod +x "$root/init"
echo "$mode" > "$root/tests/mode"
# Each program's time limit in the guest: stress mode's programs run for
# 600 s by design and need room above that; the fuzzer's 1e5 calls take
# ~20 min under the debug kernel.
if [ -z "${PRIVMEM_TEST_TIMEOUT:-}" ]; then
	case "$mode" in
	stress) PRIVMEM_TEST_TIMEOUT=2400 ;;
	*) PRIVMEM_TEST_TIMEOUT=600 ;;
	esac
fi
echo "$PRIVMEM_TEST_TIMEOUT" > "$root/tests/timeout"
(cd "$root" && find . | cpio -o -H newc --quiet) | gzip -1 > "$OUT/initramfs-$mode.cpio.gz"
