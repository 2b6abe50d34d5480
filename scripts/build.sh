#!/usr/bin/env bash
# Build pieces of the test machine, out of tree and with ccache:
#   build.sh kernel [test|debug|coverage]
#                                  arm64 Image: allnoconfig + configs/ fragments
#   build.sh selftests             the kselftests, static aarch64 binaries
#   build.sh initramfs             /init, selftests, nest_bench, dma_bench (scripts/cpio.py)
# Outputs go under build/out/VARIANT and build/selftests.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

# The kselftest programs put into the initramfs, as DIR/PROGRAM under
# tools/testing/selftests.
SELFTESTS=(iommu/iommufd iommu/iommufd_fail_nth iommu/iommufd_smmuv3 iommu/iommufd_nested_dma)

# The test and debug kernels are also the three-level machine's host
# (configs/l1.config: KVM and what Debian's QEMU needs), so that make
# check's L1 is a kernel its boots test, not another build. The debug
# kernel also has 16K pages (configs/16k.config): one kernel tests both, a
# build less for make check; make coverage's kernel is the test kernel
# (l1.config too: ccache then serves it) with gcov.
# make bench's upstream L1 (scripts/upstream-kernel.sh) is the test
# kernel's config with configs/upstream.config last; its DMA API benchmark
# kernels (scripts/bench-dma.sh: dmabench of the series, dmabench-base of
# the base) the test config with configs/dmabench.config.
fragments() {
	printf '%s\n' "$TOP/configs/test.config"
	case "$1" in test | debug | coverage | upstream) printf '%s\n' "$TOP/configs/l1.config" ;; esac
	[ "$1" = test ] || printf '%s\n' "$TOP/configs/${1%-base}.config"
	[ "$1" = debug ] && printf '%s\n' "$TOP/configs/16k.config"
	return 0
}

# Every option the fragments set must be what .config has (the last
# fragment's setting of an option, as merge_config.sh applies them): Kconfig
# silently drops options whose dependencies are missing.
check_config() {
	local out=$1 variant=$2 src=$3 f line opt val got bad=0
	local -A last=() from=()
	local order=()
	while read -r f; do
		while IFS= read -r line; do
			case "$line" in CONFIG_*=*) ;; *) continue ;; esac
			opt=${line%%=*}
			[ -n "${last[$opt]:-}" ] || order+=("$opt")
			last[$opt]=$line
			from[$opt]=$f
		done <"$f"
	done < <(fragments "$variant")
	for opt in "${order[@]}"; do
		line=${last[$opt]}
		f=${from[$opt]}
		val=${line#*=}
		if [ "$val" = n ]; then
			got=$(grep -E "^$opt=" "$out/.config" || true)
			[ -z "$got" ] && continue
		else
			grep -qxF "$line" "$out/.config" && continue
			got=$(grep -E "^(# )?${opt}[= ]" "$out/.config" || echo "$opt unset")
			# An option the series adds does not exist before the
			# patch that adds it: the per-patch checks, which
			# build those trees, say so with KCONFIG_PARTIAL=1
			if [ "$got" = "$opt unset" ] && [ -n "${KCONFIG_PARTIAL:-}" ] && ! grep -rqx --include='Kconfig*' \
				"config ${opt#CONFIG_}" "$src/arch/$ARCH" "$src/drivers" "$src/lib" \
				"$src/kernel" "$src/mm" "$src/init" "$src/security"; then
				continue
			fi
		fi
		warn "config $variant: ${f##*/} wants $line, .config has: $got"
		bad=1
	done
	return "$bad"
}

# gcov_profile DIR...: make's command-line GCOV_PROFILE that profiles the
# objects of DIR and its subdirectories and nothing else. A command-line
# variable overrides every Makefile's own GCOV_PROFILE and reaches each
# sub-make (MAKEFLAGS) unexpanded: scripts/Makefile.build expands it with
# that directory's $(obj). The series' tree is not modified.
gcov_profile() {
	local d pats=
	for d in "$@"; do
		d=${d%/}
		pats+="$d $d/% "
	done
	# shellcheck disable=SC2016 # expanded by make, per directory
	printf 'GCOV_PROFILE=$(if $(filter %s,$(obj)),y)' "${pats% }"
}

# The source tree and output directory may be overridden (KSRC, KOUT), as
# the per-patch checker does for its own worktree.
build_kernel() {
	local variant=${1:-test} src=${KSRC:-$TREE} out=${KOUT:-$BUILD/out/${1:-test}}
	local extra=()
	# COVERAGE_DIRS: the directories make coverage profiles
	# shellcheck disable=SC2086 # a list of directories
	[ "$variant" = coverage ] && extra=("$(gcov_profile ${COVERAGE_DIRS:-drivers/iommu})")
	mkdir -p "$out"
	mapfile -t frags < <(fragments "$variant")
	kmake "$src" "$out" -s allnoconfig
	"$src/scripts/kconfig/merge_config.sh" -m -O "$out" "$out/.config" \
		"${frags[@]}" >/dev/null
	kmake "$src" "$out" -s olddefconfig
	check_config "$out" "$variant" "$src" || die "config $variant: fragments not applied"
	kmake "$src" "$out" Image "${extra[@]}"
	say "kernel ($variant): $out/arch/arm64/boot/Image"
}

build_selftests() {
	local hdr=$BUILD/out/headers st dir prog
	mkdir -p "$hdr"
	make -C "$TREE" O="$hdr" ARCH="$ARCH" -s headers
	st=$BUILD/selftests
	mkdir -p "$st"
	for dir in $(printf '%s\n' "${SELFTESTS[@]}" | cut -d/ -f1 | sort -u); do
		mkdir -p "$st/$dir"
		make -C "$TREE/tools/testing/selftests/$dir" \
			CC="${CROSS_COMPILE}gcc" ARCH="$ARCH" \
			KHDR_INCLUDES="-isystem $hdr/usr/include" \
			LDFLAGS=-static OUTPUT="$st/$dir" -j"$JOBS"
	done
	for prog in "${SELFTESTS[@]}"; do
		[ -x "$st/$prog" ] || die "selftest $prog was not built"
		file -b "$st/$prog" | grep -q 'statically linked' ||
			die "selftest $prog is not static"
	done
	say "selftests: ${SELFTESTS[*]}"
}

build_initramfs() {
	local list prog
	"${CROSS_COMPILE}gcc" -static -O2 -Wall -Wextra -Werror \
		-o "$BUILD/init" "$TOP/guest/init.c"
	# the verdict's end-to-end test (a boot that must fail)
	"${CROSS_COMPILE}gcc" -static -O2 -Wall -Wextra -Werror \
		-o "$BUILD/wb_faults" "$TOP/guest/wb_faults.c"
	# make bench's guest half, against the series' uAPI headers
	[ -d "$BUILD/out/headers/usr/include" ] ||
		die "no uAPI headers: run 'build.sh selftests'"
	"${CROSS_COMPILE}gcc" -static -O2 -Wall -Wextra -Werror \
		-isystem "$BUILD/out/headers/usr/include" \
		-o "$BUILD/nest_bench" "$TOP/guest/nest_bench.c"
	# make bench's DMA API benchmark (a kernel with CONFIG_DMA_MAP_BENCHMARK)
	"${CROSS_COMPILE}gcc" -static -O2 -Wall -Wextra -Werror \
		-o "$BUILD/dma_bench" "$TOP/guest/dma_bench.c"
	list=$BUILD/initramfs.list
	{
		echo "dir /dev 0755"
		echo "nod /dev/console 0600 c 5 1"
		echo "dir /proc 0755"
		echo "dir /sys 0755"
		echo "dir /tmp 1777"
		echo "dir /bin 0755"
		echo "file /init $BUILD/init 0755"
		echo "file /bin/nest_bench $BUILD/nest_bench 0755"
		echo "file /bin/dma_bench $BUILD/dma_bench 0755"
		echo "file /bin/wb_faults $BUILD/wb_faults 0755"
		for prog in "${SELFTESTS[@]}"; do
			[ -x "$BUILD/selftests/$prog" ] ||
				die "selftest $prog is not built: run 'build.sh selftests'"
			echo "file /bin/${prog##*/} $BUILD/selftests/$prog 0755"
		done
	} >"$list"
	python3 "$TOP/scripts/cpio.py" "$list" "$BUILD/initramfs.cpio" >/dev/null
	say "initramfs: $BUILD/initramfs.cpio"
}

what=${1:-}
shift || true
case "$what" in
kernel) build_kernel "$@" ;;
selftests) build_selftests ;;
initramfs) build_initramfs ;;
*) die "usage: build.sh kernel|selftests|initramfs [test|debug|coverage]" ;;
esac
