#!/usr/bin/env bash
# Boot the test kernel under QEMU and parse what it printed.
#   run.sh BOOT
# BOOT names a boot of configs/plan.conf: its machine (a "machine" line
# there: QEMU's arguments, kernel parameters, stages; two edu devices), kernel
# variant (test, debug, coverage), programs
# and wall-clock limit for the whole guest run (a guest still running then
# is killed and counted as hung). Each program's deadline in the guest
# comes from plan.conf's "deadline" lines.
# Environment:
#   WB_TESTS=PROG[:ARG...],...  other programs than the boot's (make repeat)
#   WB_LIMIT=SECONDS            another wall-clock limit (make repeat)
#   WB_REPEAT=N                 run the programs N times over (make repeat;
#                               /init repeats the list: the command line
#                               holds it once)
#   WB_NAME=NAME                name of the results and log (default: BOOT)
#   SEED=SEED                   passed to the programs as $NESTED_DMA_SEED
#   QEMU_TRACE=FILE             QEMU's SMMUv3 command-queue trace (make bench)
#   WB_ICOUNT=SHIFT             QEMU counts instructions: the guest's clock
#                               advances 2^SHIFT ns per instruction, so that
#                               a time the guest measures is a count of its
#                               instructions; one vCPU (make bench's DMA API
#                               benchmark)
#   WB_GCOV=FILE                a raw disk (virtio-mmio, outside the SMMU)
#                               to which /init writes the gcov kernel's
#                               .gcda files after the tests (make coverage)
# Results (one "PASS|FAIL|SKIP name [-- why]" line each) go to
# $RESULTS/NAME.txt; the serial log to $LOGS/boot-NAME.log.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

[ $# -eq 1 ] || die "usage: run.sh BOOT (a boot of configs/plan.conf)"
boot=$1
read -r machine variant limit tests < <(python3 "$TOP/scripts/plan.py" boot "$boot") ||
	die "no boot '$boot' in configs/plan.conf"
tests=${WB_TESTS:-$tests}
limit=${WB_LIMIT:-$limit}
[ "$limit" -gt 0 ] || die "boot $boot has no wall-clock limit (WB_LIMIT)"
specs=$(python3 "$TOP/scripts/plan.py" programs "$variant" "$tests")
image=$BUILD/out/$variant/arch/arm64/boot/Image
initrd=$BUILD/initramfs.cpio
[ -r "$image" ] || die "no kernel $image: run 'make build'"
[ -r "$initrd" ] || die "no initramfs $initrd: run 'make build'"

# The machine (configs/plan.conf): QEMU's arguments, the kernel parameters
# it needs, and the stages it translates. GICv3 with its ITS everywhere:
# MSIs are isolated per device, which iommufd requires to bind a device
# (without it VFIO_DEVICE_BIND_IOMMUFD fails with EPERM). SMMUV3_STAGES, in
# the environment of /init and so of the tests (a kernel parameter without
# a dot), tells iommufd_smmuv3 which stages to expect.
{ read -r stages && read -ra mach && read -r mparams; } < <(python3 "$TOP/scripts/plan.py" machine "$machine") ||
	die "no machine '$machine' in configs/plan.conf"
extra_cmdline="${mparams:+ $mparams} SMMUV3_STAGES=$stages"

# The commands QEMU's SMMUv3 consumed, with the ranges, ASIDs and VMIDs of
# its TLBIs and the stream IDs of its CFGI_CDs
trace=()
if [ -n "${QEMU_TRACE:-}" ]; then
	rm -f "$QEMU_TRACE"
	trace=(-trace smmuv3_cmdq_opcode -trace smmuv3_range_inval
		-trace smmu_iotlb_inv_asid_vmid -trace smmuv3_cmdq_tlbi_nh
		-trace smmuv3_cmdq_cfgi_cd
		-trace smmuv3_cmdq_consume_error -D "$QEMU_TRACE")
fi

# make coverage: a sparse 64 MiB raw disk on the virtio-mmio bus (not PCI:
# no device is added behind the SMMU); /init writes a cpio archive of
# /sys/kernel/debug/gcov to it (wb.gcov=)
disk=()
gcov_append=
if [ -n "${WB_GCOV:-}" ]; then
	rm -f "$WB_GCOV"
	truncate -s 64M "$WB_GCOV"
	disk=(-drive "if=none,format=raw,file=$WB_GCOV,id=wbgcov" -device "virtio-blk-device,drive=wbgcov")
	gcov_append=" wb.gcov=/dev/vda"
fi

mem=2G
[ "$variant" = debug ] && mem=4G
name=${WB_NAME:-$boot}
log=$LOGS/boot-$name.log
mkdir -p "$LOGS" "$RESULTS"
rm -f "$log"
# hugepages: the iommufd selftests map up to 128 MiB at once with
# MAP_HUGETLB or MFD_HUGETLB, in pages of the default huge page size, and
# expect those to be the size of a PMD (a THP, hpage_pmd_size): their
# buffers are aligned to it, and the mock domain's huge IOPTEs (512 of its
# pages, 4 MiB with 16K pages) need physically contiguous memory that large.
# So a PMD each: 2 MiB with 4K pages, 32 MiB with 16K pages (the debug
# kernel's: 2 MiB pages there, contiguous PTEs, fail the huge dirty-tracking
# cases); 320 MiB of the guest's memory either way. The page size is the
# built kernel's.
if grep -qx 'CONFIG_ARM64_16K_PAGES=y' "$BUILD/out/$variant/.config" 2>/dev/null; then
	hugepages="default_hugepagesz=32M hugepagesz=32M hugepages=10"
else
	hugepages="default_hugepagesz=2M hugepagesz=2M hugepages=160"
fi
# log_buf_len: /init copies the whole kernel log, from the first record.
append="console=ttyAMA0 panic=-1 $hugepages log_buf_len=8M$extra_cmdline$gcov_append wb.tests=$specs"
[ -n "${SEED:-}" ] && append+=" wb.seed=$SEED"
repeat=${WB_REPEAT:-1}
[[ $repeat =~ ^[1-9][0-9]*$ ]] || die "WB_REPEAT must be a positive count, not '$repeat'"
[ "$repeat" = 1 ] || append+=" wb.repeat=$repeat"
# what the parser expects: the list, as many times as it runs
expected=$tests
for ((i = 1; i < repeat; i++)); do expected+=,$tests; done
# arm64's COMMAND_LINE_SIZE
[ "${#append}" -lt 2048 ] || die "kernel command line too long (${#append} bytes): fewer tests"

# With -icount the virtual clock, the guest's timer, counts the
# instructions the vCPUs executed; idle time is skipped, not waited
# (sleep=off). One vCPU then: with two, the DMA API benchmark's runs fell
# into two groups, map and unmap 4-6% apart (its thread can run on either
# CPU); with one, they do not (measured 2026-12-07).
icount=()
smp=2
if [ -n "${WB_ICOUNT:-}" ]; then
	[[ $WB_ICOUNT =~ ^([0-9]|10)$ ]] || die "WB_ICOUNT must be a shift from 0 to 10, not '$WB_ICOUNT'"
	icount=(-icount "shift=$WB_ICOUNT,align=off,sleep=off")
	smp=1
fi

# shellcheck disable=SC2054 # QEMU options hold commas, not array separators
cmd=(timeout -k 10 "$limit" qemu-system-aarch64 "${mach[@]}" "${trace[@]}" "${icount[@]}"
	-cpu max,pauth-impdef=on -smp "$smp" -m "$mem" -nodefaults -display none
	-no-reboot -monitor none -serial "file:$log"
	-device edu -device edu "${disk[@]}"
	-kernel "$image" -initrd "$initrd" -append "$append")
# the command, as run: make demo shows it, a reader can run it again
printf '%q ' "${cmd[@]:4}" >"$LOGS/boot-$name-cmdline.txt"
echo >>"$LOGS/boot-$name-cmdline.txt"

say "boot $name: $machine machine, $variant kernel, tests '${tests:-none}', limit ${limit}s${SEED:+, seed $SEED}; log $log"
start=$(date +%s)
rc=0
bg_start "${cmd[@]}" </dev/null
qemu=$BG_PID
# Progress, once a minute: which program runs, how many results so far
# (scripts/protocol.py reads the log as parse.py does).
while ! wait_for "$qemu" 60; do
	running=- nres=0
	read -r running nres < <(python3 "$TOP/scripts/protocol.py" progress "$log") || true
	[ "$running" = - ] && running="booting (no program started yet)"
	printf '    ... boot %s: %d s, %s, %s result line(s) so far\n' "$name" \
		$(($(date +%s) - start)) "$running" "${nres:-0}"
done
bg_wait "$qemu" || rc=$?
secs=$(($(date +%s) - start))
say "boot $name: qemu exited with $rc after ${secs}s"

res=$RESULTS/$name.txt
WB_LIMIT=$limit python3 "$TOP/scripts/parse.py" --boot "$boot" --name "$name" \
	--qemu-rc "$rc" --tests "$expected" --tree "$TREE" "$log" >"$res"
python3 "$TOP/scripts/results.py" brief "$res"
