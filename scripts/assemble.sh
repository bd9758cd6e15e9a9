#!/usr/bin/env bash
# Assemble the build tree: pristine Debian linux-source-6.1, plus this
# repository's new files at their kernel paths, plus patches/ applied in
# series order.  Only files whose content changed are rewritten, so an
# unchanged repository leaves every mtime alone and kbuild has nothing to do.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

if [ ! -f "$BASE/Makefile" ]; then
	step "extracting $(basename "$SRC_TARBALL") (~15 s)"
	rm -rf "$BUILD/base"
	mkdir -p "$BUILD/base"
	tar -C "$BUILD/base" -xJf "$SRC_TARBALL"
	[ -f "$BASE/Makefile" ] || die "unexpected layout in $SRC_TARBALL"
fi

if [ ! -f "$TREE/.privmem-tree" ]; then
	step "copying the base into $VARIANT tree (~10 s)"
	rm -rf "$TREE"
	mkdir -p "$OUT"
	cp -a "$BASE" "$TREE"
	: > "$TREE/.privmem-managed"
	touch "$TREE/.privmem-tree"
fi

stage=$OUT/stage
rm -rf "$stage"
mkdir -p "$stage"

series=()
if [ -f "$TOP/patches/series" ]; then
	while read -r p _; do
		case "$p" in ''|'#'*) continue ;; esac
		[ -f "$TOP/patches/$p" ] || die "patches/series names missing patch $p"
		series+=("$p")
	done < "$TOP/patches/series"
fi

# Files the patches touch, and the overlay's own files.
patched=$( (for p in "${series[@]}"; do
	sed -n 's@^+++ b/\([^[:space:]]*\).*@\1@p' "$TOP/patches/$p"
done) | sort -u)
overlay=$(cd "$TOP" && for d in $OVERLAY_DIRS; do
	[ -d "$d" ] && find "$d" -type f ! -name '*.o' ! -name '*.d'
done | sort -u)

for f in $patched; do
	if [ -f "$BASE/$f" ]; then
		mkdir -p "$stage/$(dirname "$f")"
		cp "$BASE/$f" "$stage/$f"
	fi
done

for p in "${series[@]}"; do
	if ! out=$(patch -p1 -d "$stage" --no-backup-if-mismatch -F1 < "$TOP/patches/$p" 2>&1); then
		echo "$out" >&2
		die "patch patches/$p does not apply (see the FAILED hunk above)"
	fi
	if echo "$out" | grep -q 'with fuzz\|offset'; then
		echo "note: patches/$p applies with offset/fuzz:" >&2
		echo "$out" | grep 'with fuzz\|offset' >&2
	fi
done

for f in $overlay; do
	if [ -f "$BASE/$f" ]; then
		die "$f exists in the base tree: change it with a patch in patches/"
	fi
	mkdir -p "$stage/$(dirname "$f")"
	cp "$TOP/$f" "$stage/$f"
done

# Bring the tree in line with the stage, touching only what differs.
changed=0
all=$( (echo "$patched"; echo "$overlay"; cat "$TREE/.privmem-managed") | sort -u | sed '/^$/d')
: > "$TREE/.privmem-managed.new"
for f in $all; do
	if [ -f "$stage/$f" ]; then
		echo "$f" >> "$TREE/.privmem-managed.new"
		if ! cmp -s "$stage/$f" "$TREE/$f"; then
			mkdir -p "$TREE/$(dirname "$f")"
			rm -f "$TREE/$f"
			cp "$stage/$f" "$TREE/$f"
			changed=$((changed + 1))
		fi
	elif [ -f "$BASE/$f" ]; then
		cmp -s "$BASE/$f" "$TREE/$f" || { rm -f "$TREE/$f"; cp "$BASE/$f" "$TREE/$f"; changed=$((changed + 1)); }
	else
		rm -f "$TREE/$f"
		changed=$((changed + 1))
	fi
done
mv "$TREE/.privmem-managed.new" "$TREE/.privmem-managed"
step "tree assembled: ${#series[@]} patches, $(echo "$overlay" | sed '/^$/d' | wc -l) new files, $changed updated"
