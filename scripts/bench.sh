#!/usr/bin/env bash
# make bench: the performance ratios of privmem_bench, measured on the
# distro-like kernel (what users run: BASE_FULL, so 2 MiB private folios),
# in two boots: private pages out of the kernel direct map (the default),
# then kept in it (privmem.direct_map=1).  Each ratio comes from one boot;
# the two columns are never divided by each other's absolute times.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

runs=("removed:" "kept:privmem.direct_map=1")
for r in "${runs[@]}"; do
	name=${r%%:*}
	KCMDLINE="${r#*:} ${KCMDLINE:-}" "$TOP/scripts/run-mode.sh" bench
	sed -n 's/^# \([a-z0-9_]*: [0-9.][0-9.]*\)\r\?$/\1/p' \
		"$OUT/console-bench.log" > "$OUT/ratios-$name.txt"
done

step "ratios ($VARIANT kernel), direct map removed vs kept, each from one boot"
printf '%-36s %10s %10s\n' ratio removed kept
while IFS=': ' read -r key val; do
	kept=$(sed -n "s/^$key: //p" "$OUT/ratios-kept.txt")
	printf '%-36s %10s %10s\n' "$key" "$val" "${kept:--}"
done < "$OUT/ratios-removed.txt"
