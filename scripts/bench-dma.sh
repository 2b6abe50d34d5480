#!/usr/bin/env bash
# make bench's "no cost for hosts that do not nest": the DMA API's own
# map/unmap benchmark (CONFIG_DMA_MAP_BENCHMARK, guest/dma_bench.c: an edu
# device bound to dma_map_benchmark, strict DMA through the test machine's
# SMMUv3) on the base and on the series, same config
# (configs/dmabench.config), boots interleaved (series, base, series,
# base...), then scripts/bench_dma.py: latencies per kernel and
# series/base per pair of boots, medians and ranges. Then the same boots
# under QEMU's -icount (run.sh WB_ICOUNT): the guest's clock counts
# instructions, and bench_dma.py --icount gives instructions per map and
# unmap, which the machine's speed does not move (one vCPU, 15 runs a
# boot; a boot takes seconds).
#   bench-dma.sh [ROUNDS]        (default BENCH_ROUNDS, 5)
#   BENCH_DMA_ICOUNT_ROUNDS=N    rounds counted in instructions (default 5)
# The base is built from a worktree of the work tree at tag base
# (build/bench-base). Needs the initramfs (build.sh initramfs). Outputs:
# logs/dmabench-KERNEL-ROUND.log and insns-dmabench-KERNEL-ROUND.log,
# RUNDIR/bench-dma.txt, bench-dma.csv and bench-dma-insns.csv.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

rounds=${1:-${BENCH_ROUNDS:-5}}
icount_rounds=${BENCH_DMA_ICOUNT_ROUNDS:-5}
# 128 ns per instruction: the kernel's averages, in units of 100 ns, keep
# four digits
icount_shift=7
mkdir -p "$LOGS" "$RUNDIR"
wt=$BUILD/bench-base
if [ ! -f "$wt/Makefile" ]; then
	git -C "$TREE" worktree prune
	git -C "$TREE" worktree add -q --detach "$wt" base
fi
[ "$(git -C "$wt" rev-parse HEAD)" = "$(git -C "$TREE" rev-parse base)" ] ||
	git -C "$wt" checkout -q --detach base
KSRC=$TREE KOUT=$BUILD/out/dmabench "$TOP/scripts/build.sh" kernel dmabench
KSRC=$wt KOUT=$BUILD/out/dmabench-base KCONFIG_PARTIAL=1 "$TOP/scripts/build.sh" kernel dmabench-base
logs=()
for ((i = 1; i <= rounds; i++)); do
	for b in dmabench dmabench-base; do
		say "round $i of $rounds: $b"
		"$TOP/scripts/run.sh" "$b" >"$LOGS/run-$b-$i.log" 2>&1 || true
		cp "$LOGS/boot-$b.log" "$LOGS/$b-$i.log"
		logs+=("$LOGS/$b-$i.log")
	done
done
insns=()
for ((i = 1; i <= icount_rounds; i++)); do
	for b in dmabench dmabench-base; do
		say "round $i of $icount_rounds, counted in instructions: $b"
		WB_ICOUNT=$icount_shift WB_TESTS=dma_bench:15 WB_NAME=insns-$b "$TOP/scripts/run.sh" "$b" \
			>"$LOGS/run-insns-$b-$i.log" 2>&1 || true
		cp "$LOGS/boot-insns-$b.log" "$LOGS/insns-$b-$i.log"
		insns+=("$LOGS/insns-$b-$i.log")
	done
done
rc=0
python3 "$TOP/scripts/bench_dma.py" --csv "$RUNDIR/bench-dma.csv" "${logs[@]}" \
	>"$RUNDIR/bench-dma.txt" || rc=1
python3 "$TOP/scripts/bench_dma.py" --csv "$RUNDIR/bench-dma-insns.csv" \
	--icount "$icount_shift" "${insns[@]}" >>"$RUNDIR/bench-dma.txt" || rc=1
cat "$RUNDIR/bench-dma.txt"
exit "$rc"
