#!/usr/bin/env bash
# Regenerate one patch of the series from the edited build tree, quilt style.
#
#   scripts/refresh-patch.sh patches/NNNN-name.patch [FILE...]
#
# FILEs are kernel paths edited in build/$VARIANT/linux; without them the
# patch keeps the files it already touches.  The patch is the diff from the
# state after the patches before it in series to the tree's current files.
# Its header (everything before the first diff) is kept; a new patch gets
# a skeleton header to fill in.  Add a new patch's name to patches/series.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

pf=${1:?usage: refresh-patch.sh patches/NNNN-name.patch [FILE...]}
shift
name=$(basename "$pf")
pf=$TOP/patches/$name

files=("$@")
if [ ${#files[@]} = 0 ]; then
	[ -f "$pf" ] || die "$pf does not exist; name the files"
	mapfile -t files < <(sed -n 's@^+++ b/\([^[:space:]]*\).*@\1@p' "$pf")
fi

# The tree holds each file's state after the whole series: a file that a
# later patch also changes keeps its old section of this patch (regenerating
# it would fold the later change in).  To change such a section, put the
# file in its intermediate state in the tree and set FORCE=1.
keep=()
later=0
while read -r p _; do
	case "$p" in ''|'#'*) continue ;; esac
	if [ "$p" = "$name" ]; then later=1; continue; fi
	[ $later = 1 ] || continue
	for f in "${files[@]}"; do
		if grep -q "^+++ b/$f\b" "$TOP/patches/$p" && [ "${FORCE:-0}" != 1 ]; then
			keep+=("$f")
		fi
	done
done < "$TOP/patches/series"

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT

# Patches before this one, and every file they touch.
before=()
while read -r p _; do
	case "$p" in ''|'#'*) continue ;; esac
	[ "$p" = "$name" ] && break
	before+=("$p")
done < "$TOP/patches/series"
touched=$( (printf '%s\n' "${files[@]}"
	for p in "${before[@]}"; do
		sed -n 's@^+++ b/\([^[:space:]]*\).*@\1@p' "$TOP/patches/$p"
	done) | sort -u)
for f in $touched; do
	if [ -f "$BASE/$f" ]; then
		mkdir -p "$stage/a/$(dirname "$f")"
		cp "$BASE/$f" "$stage/a/$f"
	fi
done
for p in "${before[@]}"; do
	patch -p1 -s -d "$stage/a" --no-backup-if-mismatch < "$TOP/patches/$p" ||
		die "earlier patch $p does not apply"
done

if [ -f "$pf" ]; then
	header=$(awk '/^diff --git |^--- a\//{exit} {print}' "$pf")
else
	header="From: privmem <privmem@localhost>
Subject: [PATCH] SUBSYSTEM: summary

Why this change is needed.

Signed-off-by: privmem project <privmem@localhost>
---"
fi

{
	printf '%s\n' "$header"
	for f in "${files[@]}"; do
		if printf '%s\n' "${keep[@]}" | grep -qx "$f"; then
			[ -f "$pf" ] && grep -q "^+++ b/$f\b" "$pf" ||
				die "$f is changed by a later patch and has no section here yet"
			echo "note: kept the old section of $f (a later patch changes it too)" >&2
			awk -v f="$f" '/^diff --git /{on = ($3 == "a/" f)} on' "$pf"
			continue
		fi
		old=$stage/a/$f
		[ -f "$old" ] || old=/dev/null
		new=$TREE/$f
		[ -f "$new" ] || new=/dev/null
		echo "diff --git a/$f b/$f"
		diff -u --label "a/$f" --label "b/$f" "$old" "$new" || true
	done
} > "$pf.tmp"
mv "$pf.tmp" "$pf"
echo "refreshed patches/$name: $(grep -c '^diff --git' "$pf") files, $(grep -c '^[+-][^+-]' "$pf") changed lines"
