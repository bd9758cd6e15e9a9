# Common settings for the build, boot and verdict scripts.  Sourced, not run.
# shellcheck shell=bash

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
KVER_PIN=${KVER_PIN:-6.1.192-2}
SRC_TARBALL=/usr/src/linux-source-6.1.tar.xz
JOBS=${JOBS:-$(($(nproc) + 1))}

# One build folder per variant, so switching DEBUG on and off never forces
# a full rebuild of the other.
# VARIANT=nopriv builds with private memory configured out (the =n build);
# VARIANT=distro a distro-like kernel (BASE_FULL, memcg, KVM as modules).
if [ -z "${VARIANT:-}" ]; then
	if [ "${DEBUG:-0}" = 1 ]; then
		VARIANT=debug
	else
		VARIANT=default
	fi
fi
case "$VARIANT" in
default|debug|nopriv|distro) ;;
*) echo "error: unknown VARIANT=$VARIANT" >&2; exit 1 ;;
esac
BUILD=$TOP/build
BASE=$BUILD/base/linux-source-6.1	# pristine extraction, shared by variants
TREE=$BUILD/$VARIANT/linux		# assembled tree kbuild runs in
OUT=$BUILD/$VARIANT			# images, initramfs, logs

# The compiler cache lives outside the clone, so a fresh clone (CI's) on
# this machine starts warm; CCACHE_DIR overrides it.
cache_home=${XDG_CACHE_HOME:-${HOME:+$HOME/.cache}}
export CCACHE_DIR=${CCACHE_DIR:-${cache_home:-$BUILD}/privmem-ccache}
export CCACHE_BASEDIR=$TREE
export CCACHE_MAXSIZE=${CCACHE_MAXSIZE:-5G}

# Top-level folders of this repository that are kernel paths and are
# copied into the tree as they are.
OVERLAY_DIRS="arch Documentation include mm virt tools"

step() {
	printf '==> [%s] %s\n' "$(date +%H:%M:%S)" "$*"
}

die() {
	printf 'error: %s\n' "$*" >&2
	exit 1
}

# The KUnit suites the kernel in $TREE runs at boot (tests/kunit.list: those
# whose option is built in), one per line.
kunit_suites() {
	local opt suite
	[ -f "$TREE/.config" ] || return 0
	while read -r opt suite; do
		case "$opt" in ''|'#'*) continue ;; esac
		if grep -qx "$opt=y" "$TREE/.config"; then
			echo "$suite"
		fi
	done < "$TOP/tests/kunit.list"
}
