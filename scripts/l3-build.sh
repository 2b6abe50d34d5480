#!/usr/bin/env bash
# Build the pieces of the three-level machine (L0 QEMU 10 TCG -> L1 Linux
# with KVM running QEMU 11.1.3 -> L2 Debian's stock kernel):
#   l3-build.sh kernel        L1's arm64 Image: allnoconfig + test.config + l1.config
#   l3-build.sh progs         L2's static aarch64 programs (edu DMA over VFIO)
#   l3-build.sh l2-initramfs  L2's initramfs: busybox, Debian modules, /init
#   l3-build.sh l1-initramfs  L1's initramfs: busybox, QEMU 11.1.3 tree, L2's kernel and initramfs
# The L1 kernel source is L1_KSRC (default build/linux, the patched tree;
# set it to a clone at tag "base" to run the unpatched kernel). Outputs go
# under build/l3/. Packages come from scripts/l3-fetch.sh.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

L1_KSRC=${L1_KSRC:-$TREE}
L3=$BUILD/l3
L1OUT=$L3/out/l1
mkdir -p "$L3"

build_kernel() {
	local f line opt bad=0
	[ -f "$L1_KSRC/Makefile" ] || die "no kernel source at $L1_KSRC (set L1_KSRC)"
	mkdir -p "$L1OUT"
	ccache -M 8G >/dev/null
	kmake "$L1_KSRC" "$L1OUT" -s allnoconfig
	"$L1_KSRC/scripts/kconfig/merge_config.sh" -m -O "$L1OUT" "$L1OUT/.config" \
		"$TOP/configs/test.config" "$TOP/configs/l1.config" >/dev/null
	kmake "$L1_KSRC" "$L1OUT" -s olddefconfig
	# Kconfig drops options whose dependencies are missing: check each.
	for f in "$TOP/configs/test.config" "$TOP/configs/l1.config"; do
		while IFS= read -r line; do
			case "$line" in CONFIG_*=n)
				opt=${line%%=*}
				if grep -qE "^$opt=" "$L1OUT/.config"; then
					warn "l1 config: ${f##*/} wants $line"; bad=1
				fi
				continue ;;
			CONFIG_*=*) ;; *) continue ;; esac
			grep -qxF "$line" "$L1OUT/.config" && continue
			warn "l1 config: ${f##*/} wants $line, .config has: $(grep -E "^(# )?${line%%=*}[= ]" "$L1OUT/.config" || echo unset)"
			bad=1
		done <"$f"
	done
	[ "$bad" = 0 ] || die "l1 config: fragments not applied"
	kmake "$L1_KSRC" "$L1OUT" Image
	say "L1 kernel: $L1OUT/arch/arm64/boot/Image"
}

what=${1:-}
shift || true
case "$what" in
kernel) build_kernel ;;
*) die "usage: l3-build.sh kernel|progs|l2-initramfs|l1-initramfs" ;;
esac
