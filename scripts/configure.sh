#!/usr/bin/env bash
# Configure the tree: tinyconfig + config/base.config (+ config/debug.config
# for DEBUG=1, config/distro.config for VARIANT=distro).  Re-run only when a fragment or a Kconfig file changed.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

frags="$TOP/config/base.config"
[ "$VARIANT" = debug ] && frags="$frags $TOP/config/debug.config"
[ "$VARIANT" = nopriv ] && frags="$frags $TOP/config/nopriv.config"
[ "$VARIANT" = distro ] && frags="$frags $TOP/config/distro.config"

# shellcheck disable=SC2086
sum=$( (cat $frags; grep -h 'Kconfig' "$TREE/.privmem-managed" || true) |
	while read -r f; do [ -f "$TREE/$f" ] && cat "$TREE/$f"; echo "$f"; done |
	sha256sum | cut -d' ' -f1)
if [ -f "$TREE/.config" ] && [ "$(cat "$OUT/config.sum" 2>/dev/null)" = "$sum" ]; then
	exit 0
fi

step "configuring ($VARIANT): tinyconfig + $(echo $frags | xargs -n1 basename | xargs)"
cd "$TREE"
make -s tinyconfig >/dev/null
# shellcheck disable=SC2086
scripts/kconfig/merge_config.sh -m .config $frags >/dev/null
make -s olddefconfig >/dev/null

# Every option the fragments ask for must have survived olddefconfig; a
# later fragment's line for an option overrides an earlier one's.
bad=0
# shellcheck disable=SC2086
while IFS= read -r line; do
	case "$line" in
	CONFIG_*=n) opt=${line%%=*}
		if grep -q "^$opt=" .config; then
			echo "config: $opt asked off but is on" >&2; bad=1
		fi ;;
	CONFIG_*=*) grep -qx "$line" .config ||
		{ echo "config: '$line' not in the final .config (dependency missing?)" >&2; bad=1; } ;;
	esac
done < <(cat $frags | grep '^CONFIG_' | awk -F= '{ last[$1] = $0; order[++n] = $1 }
	END { for (i = 1; i <= n; i++) if (!seen[order[i]]++) print last[order[i]] }')
[ $bad = 0 ] || die "config fragments do not apply cleanly"
echo "$sum" > "$OUT/config.sum"
