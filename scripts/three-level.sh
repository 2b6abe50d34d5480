#!/usr/bin/env bash
# QEMU options hold commas (-M virt,gic-version=3,...), not array separators.
# shellcheck disable=SC2054
# Boot the three-level machine once and parse what it did:
#   L0  this x86 machine's QEMU 10 (TCG): virt at EL2, nested SMMUv3, two
#       emulated NVMe disks (raw images here) and two edu devices (the
#       second pair is the two run's second VM's)
#   L1  the kernel under test with KVM (the test kernel, build/out/test; L1_OUT or
#       L1_KSRC as for three-level-build.sh), running Debian's
#       QEMU 11.1.3 from its initramfs, the NVMe and edu bound to vfio-pci
#   L2  Debian's stock 6.12 cloud kernel, UEFI + ACPI, strict DMA API
#
#   three-level.sh [RUNS] [LIMIT]
#   three-level.sh --direct [LIMIT]
# RUNS: comma list of L2 runs made in this one L0 boot (see
# guest/three-level/l1-init.sh: plain, legacy, accel, crash, life, two, with
# -memfd, +strace, -lazy or -reboot);
# LIMIT: wall-clock seconds for the whole L0 run; a machine still running
# then is killed and counted as hung. Their defaults: configs/plan.conf's
# three-level run "three-level".
# --direct boots L2 (its kernel, initramfs and UEFI) on L0 itself, behind
# L0's SMMUv3: the L2 half checked without L1, and the reference counts of
# Debian's driver on one SMMU level.
# Environment: L3_NAME (the outputs' and results' name, default three-level;
# make check's debug leg is three-level-debug), L0_TRACE_WALK (default 1; 0 leaves it out) adds L0's
# page-table-walk trace (smmu_ptw_page_pte, smmu_ptw_block_pte: every
# stage-1 and stage-2 leaf read), L3_MIB (64),
# L3_PROBE=1 (L1 lists QEMU 11.1.3's trace events and arm-smmuv3 properties),
# L3_INV_TIMING=1 (L1 times each IOMMU_HWPT_INVALIDATE in its kernel: make
# bench; L3_INV_FN=FUNCTION times that kernel function instead;
# L3_INV_INNER=FUNCTION also times, in the same calls, a function they make),
# L3_FIO_MIB=N (L2 runs fio on N MiB of its own after its disk workload:
# make bench), L0_ICOUNT=SHIFT (L0's QEMU counts instructions, -icount
# shift=SHIFT, one L1 vCPU: every clock above L0 then counts the
# instructions L1 and L2 executed, and only the waits for L0's devices
# in this machine's time).
# Outputs (NAME: three-level, or three-level-direct), under the calling
# command's build/runs/COMMAND/: logs/NAME-serial.log, NAME-trace.log,
# NAME-cmdline.txt, NAME-disk.img, NAME-disk2.img; results/NAME.txt (one "PASS|FAIL|SKIP
# name -- why" per line); logs/NAME-measured.txt (figures). The programs,
# kernels and initramfs it boots are three-level-build.sh's, in
# build/three-level/.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

direct=0
if [ "${1:-}" = --direct ]; then
	direct=1
	shift
	set -- direct "${1:-120}"
fi
# defaults: configs/plan.conf's three-level run "three-level"
read -r def_runs def_limit < <(python3 "$TOP/scripts/plan.py" three-level three-level)
runs=${1:-$def_runs}
limit=${2:-$def_limit}
L3=$BUILD/three-level
image=$(l1_out)/arch/arm64/boot/Image
initrd=$L3/l1-initramfs.cpio
mib=${L3_MIB:-64}
nruns=$(tr , '\n' <<<"$runs" | grep -c .)
if [ "$direct" = 1 ]; then
	image=$L3/l2-Image
	initrd=$L3/l2-initramfs.cpio
	efi=$(python3 "$TOP/scripts/three_level_pkgs.py" unpacked --used "$L3/packages-used.txt" \
		qemu-efi-aarch64)/usr/share/qemu-efi-aarch64/QEMU_EFI.fd
	[ -r "$efi" ] || die "no $efi: run three-level-fetch.sh"
fi
[ -r "$image" ] || die "no kernel $image: run 'three-level-build.sh all'"
[ -r "$initrd" ] || die "no initramfs $initrd: run 'three-level-build.sh all'"
mkdir -p "$LOGS" "$RESULTS"
name=${L3_NAME:-three-level}
dflag=()
machine=three-level
if [ "$direct" = 1 ]; then
	name=three-level-direct
	machine=three-level-direct
	dflag=(--direct)
fi
log=$LOGS/$name-serial.log
trace=$LOGS/$name-trace.log
disk=$RUNDIR/$name-disk.img
res=$RESULTS/$name.txt
rm -f "$log" "$trace" "$res"
# L0's machine (configs/plan.conf)
{ read -r _ && read -ra mach && read -r mparams; } < <(python3 "$TOP/scripts/plan.py" machine "$machine") ||
	die "no machine '$machine' in configs/plan.conf"

# The disk: one MIB-sized region per run (run k at k*MIB MiB, written by L2
# with seed 0x5eed00+k; the two run takes two), and a region the host
# seeds here for L2 to read (HOST_MIB MiB at HOST_OFF MiB, seed HOST_SEED),
# after all of them. The second disk (the two run's second VM's) holds one
# region, at 0.
nregions=$((nruns + $(tr , '\n' <<<"$runs" | grep -c '^two' || true)))
host_off=$((nregions * mib))
host_mib=4
host_seed=0x4057
# make bench's fio (L3_FIO_MIB, 0: none): a region of its own after them
fio_mib=${L3_FIO_MIB:-0}
fio_off=$((host_off + host_mib))
size_mib=$((fio_off + fio_mib))
[ -x "$L3/l3_disk-host" ] || die "no $L3/l3_disk-host: run 'three-level-build.sh progs'"
disk2=$RUNDIR/$name-disk2.img
rm -f "$disk" "$disk2"
truncate -s "${size_mib}M" "$disk"
truncate -s "${mib}M" "$disk2"
"$L3/l3_disk-host" write "$disk" "$host_off" "$host_mib" "$host_seed" >/dev/null

# L0's view: every command its SMMU consumed, the VMID/ASID scope of each
# invalidation, every successful translation (stream, input address, output
# address, stage), every event recorded; and each byte L1 writes to its
# console (pl011_write), which places L1's "l1: ..." lines (a run's start
# and end, the DMA after teardown) among them.
l0trace=(-trace pl011_write -trace smmuv3_cmdq_opcode -trace smmuv3_translate_success
	-trace smmuv3_translate_abort -trace smmuv3_range_inval
	-trace smmuv3_cmdq_tlbi_nh -trace smmuv3_cmdq_tlbi_nh_asid
	-trace smmuv3_cmdq_tlbi_s12_vmid -trace smmuv3_cmdq_tlbi_nsnh
	-trace smmu_iotlb_inv_asid_vmid -trace smmu_iotlb_inv_vmid
	-trace smmu_iotlb_inv_vmid_s1 -trace smmuv3_cmdq_cfgi_ste
	-trace smmuv3_cmdq_cfgi_cd -trace smmuv3_record_event
	-trace smmuv3_cmdq_consume_error)
[ "${L0_TRACE_WALK:-1}" = 1 ] && l0trace+=(-trace smmu_ptw_page_pte -trace smmu_ptw_block_pte)

if [ "$direct" = 1 ]; then
	mach+=(-cpu max,pauth-impdef=on -smp 1 -m 1G -bios "$efi")
	append="console=ttyAMA0 $mparams panic=-1 l3.run=direct l3.off=0 l3.mib=$mib l3.seed=0x5eed00"
	append+=" l3.host_off=$host_off l3.host_mib=$host_mib l3.host_seed=$host_seed l3.edu=1"
else
	smp=2
	icount=()
	# With -icount the clocks of L1 and L2 count instructions, one vCPU as
	# for run.sh's WB_ICOUNT. While L1 idles, waiting for L0's disks, they
	# run at this machine's speed (sleep=on): skipping to the next timer
	# (sleep=off, run.sh's) charged each wait up to a whole 4 ms tick, and
	# two runs of the same kernel wrote 122 and 214 MiB/s (297 and 311
	# with sleep=on; 2026-12-07, 256 MiB, ours).
	if [ -n "${L0_ICOUNT:-}" ]; then
		[[ $L0_ICOUNT =~ ^([0-9]|10)$ ]] || die "L0_ICOUNT must be a shift from 0 to 10, not '$L0_ICOUNT'"
		icount=(-icount "shift=$L0_ICOUNT,align=off,sleep=on")
		smp=1
	fi
	mach+=(-cpu max,pauth-impdef=on -smp "$smp" -m 3G "${icount[@]}")
	# arm_smmu_v3.nesting_canwbs=1 (the machine's parameter): L1 boots with a device tree, and
	# QEMU's SMMUv3 has no S2FWB; the kernel under test then allows a
	# guest-owned stage 1 (IOMMU_VIOMMU_ALLOC) only on the administrator's
	# word that the root complex forces write-back accesses (IORT CANWBS on
	# ACPI machines). That holds here: L0's QEMU models no caches, so its
	# devices' DMA is coherent whatever attributes L2's stage 1 gives it.
	# Without it VIOMMU_ALLOC fails with EOPNOTSUPP, as it should. The
	# unpatched kernel has no such parameter and ignores it.
	append="console=ttyAMA0 panic=-1 $mparams"
	# L1 ends its runs 30 s before L0's limit (the time it needs for the
	# DMA after teardown, its log and power-off), whatever each run took.
	append+=" l3.runs=$runs l3.deadline=$((limit - 30))"
	append+=" l3.mib=$mib l3.host_off=$host_off l3.host_mib=$host_mib l3.host_seed=$host_seed l3.edu_l1=1"
	append+=" l3.fio_off=$fio_off l3.fio_mib=$fio_mib"
	append+=" l3.probe=${L3_PROBE:-0} l3.inv_timing=${L3_INV_TIMING:-0}"
	[ -n "${L3_INV_FN:-}" ] && append+=" l3.inv_fn=$L3_INV_FN"
	[ -n "${L3_INV_INNER:-}" ] && append+=" l3.inv_inner=$L3_INV_INNER"
fi
l0=(qemu-system-aarch64 "${mach[@]}" -nodefaults -display none
	-no-reboot -monitor none -serial "file:$log"
	-drive "file=$disk,if=none,id=disk0,format=raw"
	-device nvme,serial=l3disk0,drive=disk0 -device edu
	-drive "file=$disk2,if=none,id=disk1,format=raw"
	-device nvme,serial=l3disk1,drive=disk1 -device edu
	-kernel "$image" -initrd "$initrd" -append "$append"
	"${l0trace[@]}" -D "$trace")
printf '%q ' "${l0[@]}" >"$LOGS/$name-cmdline.txt"
echo >>"$LOGS/$name-cmdline.txt"

say "L0 boot: runs $runs, limit ${limit}s, log $log"
start=$(date +%s.%N)
rc=0
timeout -k 10 "$limit" "${l0[@]}" || rc=$?
secs=$(python3 -c "print(round($(date +%s.%N) - $start, 1))")
say "L0: qemu exited with $rc after ${secs}s"

python3 "$TOP/scripts/three_level_parse.py" --log "$log" --trace "$trace" \
	--disk "$disk" --disk2 "$disk2" --runs "$runs" --mib "$mib" --host-off-mib "$host_off" \
	--host-mib "$host_mib" --host-seed "$host_seed" --qemu-rc "$rc" \
	--wall "$secs" --limit "$limit" --initrd "$initrd" \
	--disk-tool "$L3/l3_disk-host" "${dflag[@]}" --prefix "$name" \
	--measured "$LOGS/$name-measured.txt" >"$res"
python3 "$TOP/scripts/results.py" brief "$res"
