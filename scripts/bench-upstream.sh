#!/usr/bin/env bash
# make bench's comparison with upstream: the three-level machine with L1 =
# this series (the test kernel, build/out/test) and L1 = upstream Linux
# (scripts/upstream-kernel.sh: Debian unstable's linux-source-7.x with the
# workbench's one change, configs/upstream-nesting_canwbs.patch), the same
# L2 runs (plain; accel and accel-lazy behind QEMU 11.1.3's accelerated
# vSMMU; each with l3_disk and fio's jobs), in interleaved rounds (ours, upstream, ours, upstream...), so that
# each pair sees the same machine. Then scripts/bench_upstream.py: medians
# and ranges of accel/plain per kernel and of ours/upstream.
#   bench-upstream.sh [ROUNDS]     (default BENCH_ROUNDS, 5; 0: the per-call
#                                  boots only, minutes, with
#                                  BENCH_L3_INSNS_ROUNDS=0)
# Each L2 run moves L3_MIB (256) MiB with l3_disk and fio's jobs L3_FIO_MIB
# (256) MiB each, long enough for the emulated machine's noise to average
# out (64 MiB took 0.2-0.5 s plain); L0 does not trace the page-table
# walks (L0_TRACE_WALK=0: the bench counts commands, not leaves).
# Outputs: logs/three-level-bench-KERNEL-ROUND-* (three-level.sh's, L3_NAME
# three-level-bench-KERNEL-ROUND: plan.conf's three-level skips apply),
# logs/percall-bench-KERNEL-ROUND.log (the single-level boots) and
# insns-percall-bench-KERNEL-ROUND.log (the same counted in instructions),
# logs/three-level-insns-bench-KERNEL-ROUND-* (the three-level rounds
# counted in instructions),
# RUNDIR/bench-upstream.txt and .csv.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

rounds=${1:-${BENCH_ROUNDS:-5}}
mib=${L3_MIB:-256}
fio_mib=${L3_FIO_MIB:-256}
mkdir -p "$LOGS" "$RUNDIR"
runs=${BENCH_UPSTREAM_RUNS:-plain,accel,accel-lazy}
limit=${BENCH_UPSTREAM_LIMIT:-1200}
"$TOP/scripts/upstream-kernel.sh" kernel >"$LOGS/upstream-kernel.log" 2>&1 ||
	die "the upstream kernel did not build: see $LOGS/upstream-kernel.log"
declare -A out=([ours]=$(l1_out) [upstream]=$BUILD/out/upstream)
# The driver's part of each IOMMU_HWPT_INVALIDATE, timed in the same calls:
# ours from the core's guest invalidations (iommufd decoded the commands),
# upstream's from the user's array (it copies and checks them itself).
declare -A inner=([ours]=arm_smmu_cache_invalidate [upstream]=arm_vsmmu_cache_invalidate)
# l3_round KERNEL ROUND [SHIFT]: one boot of the three-level machine with L1
# = KERNEL, under L0's -icount shift=SHIFT if given (three-level.sh
# L0_ICOUNT; names then three-level-insns-...); prints its measured file
l3_round() {
	local k=$1 i=$2 icount=${3:-} n=three-level-bench-$1-$2
	[ -z "$icount" ] || n=three-level-insns-bench-$k-$i
	L3_NAME=$n L1_OUT=${out[$k]} L3_INV_TIMING=1 L3_INV_INNER=${inner[$k]} L3_MIB=$mib L3_FIO_MIB=$fio_mib \
		L0_TRACE_WALK=${L0_TRACE_WALK:-0} L0_ICOUNT=$icount "$TOP/scripts/three-level.sh" "$runs" "$limit" \
		>"$LOGS/$n.log" 2>&1 || true
	echo "$LOGS/$n-measured.txt"
}
measured=()
for ((i = 1; i <= rounds; i++)); do
	for k in ours upstream; do
		say "round $i of $rounds: L1 = $k"
		measured+=("$(l3_round "$k" "$i")")
	done
done
# The same rounds with L0's QEMU counting instructions (shift 0: L1's and
# L2's clocks advance 1 ns per instruction, and at this machine's speed
# only while L1 waits for L0's devices; one L1 vCPU): throughput and time
# then measure the work L1 and L2 did, which this machine's load does not
# move as it moves the rounds above; BENCH_L3_INSNS_ROUNDS (3) rounds,
# about 3 minutes per kernel (17m10s for 3 rounds, 2026-12-07)
l3_icount=0
l3irounds=${BENCH_L3_INSNS_ROUNDS:-3}
l3insns=()
for ((i = 1; i <= l3irounds; i++)); do
	for k in ours upstream; do
		say "round $i of $l3irounds, counted in instructions: L1 = $k"
		l3insns+=(--three-level-insns "$(l3_round "$k" "$i" "$l3_icount")")
	done
done
# L1's time per call without probes: guest/nest_bench.c's own timings (user
# space: a trivial ioctl, one command per call, 64 per call) on the
# single-level machine, booted with each kernel (configs/plan.conf's boots
# bench-ours and bench-upstream), interleaved; BENCH_PERCALL_ROUNDS (15)
# rounds, a few seconds each
prounds=${BENCH_PERCALL_ROUNDS:-15}
# percall_boot KERNEL ROUND [SHIFT]: boot bench-KERNEL, under -icount
# shift=SHIFT if given (names then prefixed insns-); its serial log kept as
# logs/[insns-]percall-bench-KERNEL-ROUND.log
percall_boot() {
	local k=$1 i=$2 icount=${3:-} p=
	[ -z "$icount" ] || p=insns-
	rm -f "$LOGS/boot-${p}bench-$k.log" "$LOGS/${p}percall-bench-$k-$i.log"
	WB_ICOUNT=$icount WB_NAME=${p}bench-$k "$TOP/scripts/run.sh" "bench-$k" \
		>"$LOGS/run-${p}percall-$k-$i.log" 2>&1 || true
	cp "$LOGS/boot-${p}bench-$k.log" "$LOGS/${p}percall-bench-$k-$i.log" 2>/dev/null || true
}
percall=()
for ((i = 1; i <= prounds; i++)); do
	for k in ours upstream; do
		say "per call on one level, round $i of $prounds: $k"
		percall_boot "$k" "$i"
		percall+=(--percall "$LOGS/percall-bench-$k-$i.log")
	done
done
# The same boots under QEMU's -icount (run.sh WB_ICOUNT, one vCPU): the
# guest's clock counts instructions, so nest_bench's timings are
# instructions per call, which the machine's speed does not move;
# BENCH_PERCALL_INSNS_ROUNDS (5) rounds, seconds each
icount_shift=7
irounds=${BENCH_PERCALL_INSNS_ROUNDS:-5}
insns=()
for ((i = 1; i <= irounds; i++)); do
	for k in ours upstream; do
		say "per call on one level, counted in instructions, round $i of $irounds: $k"
		percall_boot "$k" "$i" "$icount_shift"
		insns+=(--percall-insns "$LOGS/insns-percall-bench-$k-$i.log")
	done
done
python3 "$TOP/scripts/bench_upstream.py" --mib "$mib" --csv "$RUNDIR/bench-upstream.csv" --chart "$RUNDIR" \
	"${percall[@]}" --icount "$icount_shift" "${insns[@]}" --three-level-icount "$l3_icount" "${l3insns[@]}" \
	"${measured[@]}" | tee "$RUNDIR/bench-upstream.txt"
