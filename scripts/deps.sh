#!/usr/bin/env bash
# Install what the build, boot and tests need, from Debian's archive.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

PKGS="build-essential bc bison flex libelf-dev libssl-dev cpio xz-utils
      kmod ccache python3 rsync qemu-system-x86 busybox-static trinity"

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
		missing="$missing $p"
done

have_src() {
	[ -f "$SRC_TARBALL" ] &&
		dpkg-query -W -f='${Version}' linux-source-6.1 2>/dev/null | grep -q .
}

if [ -z "$missing" ] && have_src; then
	exit 0
fi

SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive

step "apt-get update"
$SUDO apt-get update -qq
if [ -n "$missing" ]; then
	step "installing:$missing"
	# shellcheck disable=SC2086
	$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
if ! have_src; then
	step "installing linux-source-6.1=$KVER_PIN"
	if ! $SUDO apt-get install -y -qq --no-install-recommends \
			"linux-source-6.1=$KVER_PIN" >/dev/null; then
		echo "warning: linux-source-6.1 $KVER_PIN is no longer in the archive;" >&2
		echo "warning: falling back to the newest 6.1 (patches may need a refresh)" >&2
		$SUDO apt-get install -y -qq --no-install-recommends linux-source-6.1 >/dev/null
	fi
fi
have_src || die "linux-source-6.1 did not install $SRC_TARBALL"
