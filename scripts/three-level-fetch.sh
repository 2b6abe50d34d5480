#!/usr/bin/env bash
# Fetch the three-level machine's Debian arm64 packages (configs/three-level-packages.txt),
# check their sha256 and unpack each one (dpkg-deb -x, no maintainer scripts)
# under ~/.cache/smmuv3-nesting/three-level/root/. A second run is offline. Uses a
# private apt configuration under ~/.cache/smmuv3-nesting/three-level/apt: the host's
# dpkg architectures and apt sources are never changed.
#   three-level-fetch.sh             fetch what the pins say (warn and take the newest
#                           for a pinned version gone from the mirror)
#   three-level-fetch.sh --resolve   rewrite the pins from the mirror's newest versions
# Writes build/three-level/packages-used.txt: what was actually used, with versions.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

L3CACHE=${L3CACHE:-$WB_CACHE/three-level}
PINS=$TOP/configs/three-level-packages.txt
mkdir -p "$L3CACHE" "$BUILD/three-level"

# What the three levels need from Debian. '!': data, firmware or a kernel,
# whose Depends are not walked.
ROOTS=(
	l1:qemu-system-arm 'l1:qemu-system-common!' 'l1:qemu-system-data!'
	'l1:qemu-efi-aarch64!' l1:busybox-static l1:strace
	l2:busybox-static 'l2:linux-image-6.12.117+deb13-cloud-arm64!'
)
L2_KERNEL_ALT='linux-image-6.12.117+deb13-cloud-arm64=linux-image-6\.12\.[0-9]+\+deb13(\.[0-9]+)?-cloud-arm64'

if [ "${1:-}" = --resolve ]; then
	tmp=$(mktemp)
	python3 "$TOP/scripts/three_level_pkgs.py" resolve --apt "$L3CACHE/apt" \
		--alt "$L2_KERNEL_ALT" "${ROOTS[@]}" >"$tmp"
	{
		sed -n '/^# Debian arm64/,/^# rewrites/p' "$PINS"
		grep -v '^# ROLE' "$tmp"
	} >"$PINS.new"
	mv "$PINS.new" "$PINS"
	rm -f "$tmp"
	say "pins: $PINS ($(grep -vc '^#' "$PINS") packages)"
	exit 0
fi

python3 "$TOP/scripts/three_level_pkgs.py" fetch --apt "$L3CACHE/apt" --cache "$L3CACHE" \
	--pins "$PINS" --used "$BUILD/three-level/packages-used.txt"
