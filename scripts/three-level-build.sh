#!/usr/bin/env bash
# Build the pieces of the three-level machine (L0 QEMU 10 TCG -> L1 Linux
# with KVM running QEMU 11.1.3 -> L2 Debian's stock kernel):
#   three-level-build.sh kernel        L1's arm64 Image: build.sh's test kernel (test.config + l1.config)
#   three-level-build.sh progs         L2's static aarch64 programs (edu DMA over VFIO)
#   three-level-build.sh fio           L2's fio (static aarch64, from Debian's source)
#   three-level-build.sh l2-initramfs  L2's initramfs: busybox, Debian modules, /init
#   three-level-build.sh l1-initramfs  L1's initramfs: busybox, QEMU 11.1.3 tree, L2's kernel and initramfs
#   three-level-build.sh userspace     progs, fio, l2-initramfs and l1-initramfs; all: kernel too
#   three-level-build.sh prepare       three-level-fetch.sh, then userspace: what three-level.sh needs
#                             besides L1's kernel (make check, demo and bench)
# The L1 kernel source is L1_KSRC (default build/linux, the patched tree;
# set it to a clone at tag "base" to run the unpatched kernel), built in
# L1_OUT (default build/out/test for the patched tree, build/three-level/out/l1 for
# another; give each source tree its own, so that switching trees does not
# rebuild everything). Outputs go under build/three-level/.
# Packages come from scripts/three-level-fetch.sh.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

L1OUT=$(l1_out)
L1_KSRC=${L1_KSRC:-$TREE}
L3=$BUILD/three-level
mkdir -p "$L3"

# L1's kernel is the test kernel (build.sh: test.config + l1.config), of
# L1_KSRC, in L1_OUT.
build_kernel() {
	[ -f "$L1_KSRC/Makefile" ] || die "no kernel source at $L1_KSRC (set L1_KSRC)"
	KSRC=$L1_KSRC KOUT=$L1OUT "$TOP/scripts/build.sh" kernel test
	say "L1 kernel: $L1OUT/arch/arm64/boot/Image"
}

USED=$L3/packages-used.txt

# unpacked PACKAGE-REGEX: the unpacked tree of the package used (the pin, or
# what replaced it).
unpacked() {
	python3 "$TOP/scripts/three_level_pkgs.py" unpacked --used "$USED" "$1"
}

build_progs() {
	local p
	for p in l3_disk l3_edu qmp; do
		"${CROSS_COMPILE}gcc" -static -O2 -Wall -Wextra -Werror \
			-o "$L3/$p" "$TOP/guest/three-level/$p.c"
	done
	# the host seeds and checks the disk image with the same pattern code
	gcc -O2 -Wall -Wextra -Werror -o "$L3/l3_disk-host" "$TOP/guest/three-level/l3_disk.c"
	say "L2 programs: $L3/l3_disk $L3/l3_edu; L1's QMP client: $L3/qmp; host: $L3/l3_disk-host"
}

# fio for L2 (make bench's second workload): the upstream tarball of
# Debian's fio source package (BASE: FIO_*), fetched once from the Debian
# mirror's pool into the cache and checked, built static for arm64 into
# $L3/fio (no zlib, no external engines: what a block device needs).
build_fio() {
	local cache=$WB_CACHE/three-level/fio tgz src
	tgz=$cache/$(basename "$FIO_ORIG")
	[ -x "$L3/fio" ] && [ "$(cat "$L3/fio.version" 2>/dev/null)" = "$FIO_VERSION $FIO_SHA256" ] && return 0
	mkdir -p "$cache"
	if [ ! -r "$tgz" ] || [ "$(sha256sum "$tgz" | cut -d' ' -f1)" != "$FIO_SHA256" ]; then
		curl -fsSL -o "$tgz.part" "${DEBPKG_MIRROR:-http://deb.debian.org}/debian/$FIO_ORIG" ||
			die "could not fetch $FIO_ORIG"
		mv "$tgz.part" "$tgz"
	fi
	[ "$(sha256sum "$tgz" | cut -d' ' -f1)" = "$FIO_SHA256" ] || die "$tgz: not the pinned sha256"
	src=$L3/fio-src
	rm -rf "$src"
	mkdir -p "$src"
	tar -xzf "$tgz" -C "$src" --strip-components=1
	(cd "$src" && ./configure --cc="${CROSS_COMPILE}gcc" --build-static --disable-native >/dev/null &&
		make -j"$JOBS" fio >/dev/null 2>&1) || die "fio did not build (in $src)"
	"${CROSS_COMPILE}strip" -o "$L3/fio" "$src/fio"
	echo "$FIO_VERSION $FIO_SHA256" >"$L3/fio.version"
	rm -rf "$src"
	say "L2's fio $FIO_VERSION (static): $L3/fio"
}

# The modules L2 loads (Debian builds VFIO as modules; NVMe, SMMUv3 and the
# GIC's ITS are built in).
L2_MODULES=(vfio-pci vfio_iommu_type1)

build_l2_initramfs() {
	local kernel busybox list m rel
	busybox=$(unpacked busybox-static)/usr/bin/busybox
	[ -x "$L3/l3_disk" ] || die "no L2 programs: run 'three-level-build.sh progs'"
	# The image and the modules wherever Debian's package layout of the
	# pinned kernel puts them (one package, or several: three_level_pkgs.py knows)
	mapfile -t kernel < <(python3 "$TOP/scripts/three_level_pkgs.py" kernel --used "$USED" --role l2)
	[ "${#kernel[@]}" -eq 2 ] || die "no L2 kernel in $USED"
	cp "${kernel[0]}" "$L3/l2-Image"
	file -b "$L3/l2-Image" | grep -q 'ARM64 boot executable Image' ||
		die "L2 kernel is not an arm64 Image: $(file -b "$L3/l2-Image")"
	rm -rf "$L3/l2-mod" && mkdir -p "$L3/l2-mod"
	list=$L3/l2-initramfs.list
	{
		echo "dir /dev 0755"
		echo "nod /dev/console 0600 c 5 1"
		echo "dir /bin 0755"
		echo "dir /lib 0755"
		echo "dir /lib/modules 0755"
		echo "file /init $TOP/guest/three-level/l2-init.sh 0755"
		echo "file /l3-common.sh $TOP/guest/three-level/common.sh 0644"
		echo "file /bin/busybox $busybox 0755"
		echo "file /bin/l3_disk $L3/l3_disk 0755"
		echo "file /bin/l3_edu $L3/l3_edu 0755"
		[ -x "$L3/fio" ] && echo "file /bin/fio $L3/fio 0755"
		: >"$L3/l2-mod/load.order"
		python3 "$TOP/scripts/three_level_pkgs.py" modules --used "$USED" --role l2 \
			"${L2_MODULES[@]}" | while read -r m; do
			rel=$(basename "${m%.xz}")
			case "$m" in *.xz) xz -dc "$m" >"$L3/l2-mod/$rel" ;; *) cp "$m" "$L3/l2-mod/$rel" ;; esac
			echo "$rel" >>"$L3/l2-mod/load.order"
			echo "file /lib/modules/$rel $L3/l2-mod/$rel 0644"
		done
		echo "file /lib/modules/load.order $L3/l2-mod/load.order 0644"
	} >"$list"
	python3 "$TOP/scripts/cpio.py" "$list" "$L3/l2-initramfs.cpio" >/dev/null
	say "L2: kernel ${kernel[1]} ($L3/l2-Image), initramfs $L3/l2-initramfs.cpio ($(du -k "$L3/l2-initramfs.cpio" | cut -f1) KiB, modules: $(tr '\n' ' ' <"$L3/l2-mod/load.order"))"
}

build_l1_initramfs() {
	local qemu strace busybox efi list name root rel
	qemu=$(unpacked qemu-system-arm)/usr/bin/qemu-system-aarch64
	strace=$(unpacked strace)/usr/bin/strace
	busybox=$(unpacked busybox-static)/usr/bin/busybox
	efi=$(unpacked qemu-efi-aarch64)/usr/share/qemu-efi-aarch64/QEMU_EFI.fd
	for f in "$qemu" "$strace" "$busybox" "$efi" "$L3/l2-Image" "$L3/l2-initramfs.cpio" "$L3/l3_edu" "$L3/qmp"; do
		[ -r "$f" ] || die "missing $f (run three-level-fetch.sh, then three-level-build.sh progs and l2-initramfs)"
	done
	list=$L3/l1-initramfs.list
	{
		echo "dir /dev 0755"
		echo "nod /dev/console 0600 c 5 1"
		echo "dir /bin 0755"
		echo "dir /usr 0755"
		echo "dir /usr/bin 0755"
		echo "dir /usr/lib 0755"
		echo "dir /usr/lib/aarch64-linux-gnu 0755"
		echo "slink /lib usr/lib"
		echo "slink /usr/lib/ld-linux-aarch64.so.1 aarch64-linux-gnu/ld-linux-aarch64.so.1"
		echo "dir /usr/share 0755"
		echo "dir /usr/share/qemu-efi-aarch64 0755"
		echo "dir /l2 0755"
		echo "file /init $TOP/guest/three-level/l1-init.sh 0755"
		echo "file /l3-common.sh $TOP/guest/three-level/common.sh 0644"
		echo "file /bin/busybox $busybox 0755"
		echo "file /bin/l3_edu $L3/l3_edu 0755"
		echo "file /bin/qmp $L3/qmp 0755"
		echo "file /usr/bin/qemu-system-aarch64 $qemu 0755"
		echo "file /usr/bin/strace $strace 0755"
		echo "file /usr/share/qemu-efi-aarch64/QEMU_EFI.fd $efi 0644"
		echo "file /l2/Image $L3/l2-Image 0644"
		echo "file /l2/initramfs.cpio $L3/l2-initramfs.cpio 0644"
		# every DT_NEEDED of QEMU and strace, transitively, and the loader
		python3 "$TOP/scripts/three_level_pkgs.py" closure --used "$USED" --role l1 \
			"$qemu" "$strace" | while read -r name root rel; do
			echo "file /usr/lib/aarch64-linux-gnu/$name $root/$rel 0755"
		done
	} >"$list"
	python3 "$TOP/scripts/cpio.py" "$list" "$L3/l1-initramfs.cpio" >/dev/null
	say "L1: initramfs $L3/l1-initramfs.cpio ($(du -m "$L3/l1-initramfs.cpio" | cut -f1) MiB, $(grep -c /usr/lib/aarch64-linux-gnu/ "$list") libraries)"
}

build_userspace() {
	build_progs
	# fio is make bench's; the machine runs without it
	(build_fio) || warn "no fio for L2: make bench's fio workload will be missing"
	build_l2_initramfs
	build_l1_initramfs
}

what=${1:-}
shift || true
case "$what" in
kernel) build_kernel ;;
progs) build_progs ;;
fio) build_fio ;;
l2-initramfs) build_l2_initramfs ;;
l1-initramfs) build_l1_initramfs ;;
userspace) build_userspace ;;
prepare) "$TOP/scripts/three-level-fetch.sh"; build_userspace ;;
all) build_kernel; build_userspace ;;
*) die "usage: three-level-build.sh kernel|progs|fio|l2-initramfs|l1-initramfs|userspace|prepare|all" ;;
esac
