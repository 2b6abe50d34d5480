#!/usr/bin/env bash
# Boot the test kernel under QEMU and parse what it printed.
#   run.sh MACHINE VARIANT TESTS LIMIT [NAME]
# MACHINE: nested (S1+S2, QEMU 10 default), s1only, s2only (virt-9.1).
# VARIANT: test or debug kernel. TESTS: comma list of /bin programs run by
# /init ("" for none). LIMIT: wall-clock seconds for the whole guest run; a
# guest still running then is killed and counted as hung.
# QEMU_TRACE=FILE: write QEMU's SMMUv3 command-queue trace there (make bench).
# Results (one "PASS|FAIL|SKIP name [why]" line each) go to
# build/results/NAME.txt (NAME: MACHINE-VARIANT by default); the serial log
# to build/logs/boot-NAME.log.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

machine=$1 variant=$2 tests=$3 limit=$4
image=$BUILD/out/$variant/arch/arm64/boot/Image
initrd=$BUILD/initramfs.cpio
[ -r "$image" ] || die "no kernel $image: run 'make build'"
[ -r "$initrd" ] || die "no initramfs $initrd: run 'make build'"

# GICv3 with its ITS: MSIs are isolated per device, which iommufd requires
# to bind a device (without it VFIO_DEVICE_BIND_IOMMUFD fails with EPERM).
case "$machine" in
nested) mach=(-M "virt,iommu=smmuv3,gic-version=3") ;;
s1only) mach=(-M "virt-9.1,iommu=smmuv3,gic-version=3" -global arm-smmuv3.stage=1) ;;
s2only) mach=(-M "virt-9.1,iommu=smmuv3,gic-version=3" -global arm-smmuv3.stage=2) ;;
*) die "unknown machine $machine" ;;
esac

# The commands QEMU's SMMUv3 consumed, and the ranges of its TLBIs
trace=()
if [ -n "${QEMU_TRACE:-}" ]; then
	rm -f "$QEMU_TRACE"
	trace=(-trace smmuv3_cmdq_opcode -trace smmuv3_range_inval
		-trace smmuv3_cmdq_consume_error -D "$QEMU_TRACE")
fi

mem=2G
[ "$variant" = debug ] && mem=4G
name=${5:-$machine-$variant}
log=$LOGS/boot-$name.log
mkdir -p "$LOGS" "$BUILD/results"
rm -f "$log"
# hugepages: the iommufd selftests map up to 128 MiB with MAP_HUGETLB.
# Per-test deadline inside the guest: the guest's whole limit, less boot.
per_test=$((limit > 120 ? limit - 60 : limit))

say "boot $name: tests '${tests:-none}', limit ${limit}s, log $log"
start=$(date +%s)
rc=0
timeout -k 10 "$limit" qemu-system-aarch64 "${mach[@]}" "${trace[@]}" \
	-cpu max,pauth-impdef=on -smp 2 -m "$mem" -nodefaults -display none \
	-no-reboot -monitor none -serial "file:$log" \
	-device edu \
	-kernel "$image" -initrd "$initrd" \
	-append "console=ttyAMA0 panic=-1 hugepages=160 wb.tests=$tests wb.timeout=$per_test" ||
	rc=$?
secs=$(($(date +%s) - start))
say "boot $name: qemu exited with $rc after ${secs}s"

python3 "$TOP/scripts/parse.py" --machine "$machine" --name "$name" \
	--qemu-rc "$rc" --tests "$tests" \
	--header "$TREE/drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3.h" \
	"$log" >"$BUILD/results/$name.txt"
grep -c '^PASS' "$BUILD/results/$name.txt" | xargs printf '    %s passed, ' || true
grep -c '^FAIL' "$BUILD/results/$name.txt" | xargs printf '%s failed, ' || true
grep -c '^SKIP' "$BUILD/results/$name.txt" | xargs printf '%s skipped\n' || true
grep '^FAIL' "$BUILD/results/$name.txt" | sed 's/^/    /' || true
