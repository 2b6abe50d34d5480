#!/usr/bin/env bash
# The reference kernel of make bench: upstream Linux (BASE:
# UPSTREAM_KERNEL_*, Debian unstable's linux-source-7.x, fetched with a
# private apt configuration into $WB_CACHE/upstream), unpacked into
# build/upstream/linux with the workbench's one change to it
# (configs/upstream-nesting_canwbs.patch: arm_smmu_v3.nesting_canwbs=1 lets
# QEMU's SMMUv3, which has no S2FWB, offer nesting, as the series' own
# parameter of that name does), and built as the three-level machine's L1
# (build.sh kernel upstream: configs/test.config, configs/l1.config and
# configs/upstream.config, ccache)
# into build/out/upstream. Options of the fragments upstream's Kconfig does
# not have (the series' own) are left out (KCONFIG_PARTIAL). Prints the Image's
# path. A second run is offline and rebuilds nothing that did not change.
#
#   upstream-kernel.sh [tree|kernel]   (default: kernel, which needs tree)
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

UP=$BUILD/upstream
SRC=$UP/linux
OUT=$BUILD/out/upstream
PATCH=$TOP/configs/upstream-nesting_canwbs.patch

# tree: the source, unpacked once per version and patch (a stamp file
# names both; anything else there is replaced).
tree() {
	local deb ver stamp tarball
	stamp="$UPSTREAM_KERNEL_PACKAGE $UPSTREAM_KERNEL_VERSION $(sha256sum "$PATCH" | cut -d' ' -f1)"
	if [ -r "$UP/stamp" ] && [ "$(cat "$UP/stamp")" = "$stamp" ] && [ -f "$SRC/Makefile" ]; then
		return 0
	fi
	mapfile -t deb < <(DEBPKG_SUITE=unstable python3 "$TOP/scripts/debian.py" fetch \
		"$UPSTREAM_KERNEL_PACKAGE" amd64 "$UPSTREAM_KERNEL_VERSION" "$WB_CACHE/upstream/debs" \
		"$UPSTREAM_KERNEL_SHA256")
	[ "${#deb[@]}" -eq 2 ] || die "could not fetch $UPSTREAM_KERNEL_PACKAGE"
	ver=${deb[1]}
	[ "$ver" = "$UPSTREAM_KERNEL_VERSION" ] ||
		warn "upstream is $UPSTREAM_KERNEL_PACKAGE $ver, not the pinned $UPSTREAM_KERNEL_VERSION"
	rm -rf "$UP"
	mkdir -p "$UP/deb"
	dpkg-deb -x "${deb[0]}" "$UP/deb"
	tarball=$(find "$UP/deb/usr/src" -maxdepth 1 -name 'linux-source-*.tar.xz' | head -n 1)
	[ -n "$tarball" ] || die "no tarball in ${deb[0]}"
	say "unpacking $(basename "$tarball") ($UPSTREAM_KERNEL_PACKAGE $ver)"
	tar -xf "$tarball" -C "$UP"
	rm -rf "$UP/deb"
	mv "$UP"/linux-source-* "$SRC"
	patch -d "$SRC" -p1 --no-backup-if-mismatch <"$PATCH" >/dev/null ||
		die "configs/upstream-nesting_canwbs.patch does not apply to $UPSTREAM_KERNEL_PACKAGE $ver"
	echo "$UPSTREAM_KERNEL_PACKAGE $ver $(sha256sum "$PATCH" | cut -d' ' -f1)" >"$UP/stamp"
	say "upstream tree: $SRC ($UPSTREAM_KERNEL_PACKAGE $ver, with configs/upstream-nesting_canwbs.patch)"
}

kernel() {
	tree
	KSRC=$SRC KOUT=$OUT KCONFIG_PARTIAL=1 "$TOP/scripts/build.sh" kernel upstream
	printf '%s\n' "$OUT/arch/arm64/boot/Image"
}

case "${1:-kernel}" in
tree) tree ;;
kernel) kernel ;;
*) die "usage: upstream-kernel.sh [tree|kernel]" ;;
esac
