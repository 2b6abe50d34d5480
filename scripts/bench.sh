#!/usr/bin/env bash
# make bench: the cost of a guest's invalidations and STE transitions on
# QEMU's nested SMMUv3, counted from QEMU's trace and cross-checked with the
# driver's own count (guest/nest_bench.c in the guest, scripts/bench.py on
# the host). Writes bench.{txt,csv,png} to build/runs/COMMAND/. Then the three-level
# machine's ratios (scripts/bench_three_level.py): L2's NVMe throughput behind QEMU
# 11.1.3's accelerated vSMMUv3 against plain assignment, guest commands per
# MiB, from one L0 boot (scripts/three-level.sh), appended to bench.txt.
# Then (a real make bench) the same three-level runs with upstream Linux as
# L1, interleaved with ours (scripts/bench-upstream.sh): bench-upstream.txt;
# and the DMA API's own map/unmap benchmark, base against series
# (scripts/bench-dma.sh): bench-dma.txt.
#   bench.sh [--no-build] [--three-level MEASURED]
#     --no-build: use the kernel and initramfs already built
#     --three-level MEASURED: take the three-level figures of a run already made
#       (make check's) instead of booting it again
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

build=1
l3m=
while [ $# -gt 0 ]; do
	case "$1" in
	--no-build) build=0 ;;
	--three-level) l3m=$2; shift ;;
	*) die "usage: bench.sh [--no-build] [--three-level MEASURED]" ;;
	esac
	shift
done
if [ "$build" = 1 ]; then
	"$TOP/scripts/setup.sh" >/dev/null
	"$TOP/scripts/tree.sh"
	"$TOP/scripts/build.sh" kernel test
	"$TOP/scripts/build.sh" selftests
	"$TOP/scripts/build.sh" initramfs
fi

out=$RUNDIR
mkdir -p "$out" "$LOGS" "$RESULTS"
rc=0
# The boot of configs/plan.conf's role "bench"
boot=$(python3 "$TOP/scripts/plan.py" role bench)
QEMU_TRACE=$LOGS/qemu-trace.log "$TOP/scripts/run.sh" "$boot" || rc=1
python3 "$TOP/scripts/bench.py" --log "$LOGS/boot-$boot.log" \
	--trace "$LOGS/qemu-trace.log" \
	--kunit-src "$TREE/drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3-test.c" \
	--out "$out" --results "$RESULTS/bench-counts.txt" || rc=1
python3 "$TOP/scripts/results.py" brief "$RESULTS/bench-counts.txt" || true

# Three levels
if [ -z "$l3m" ]; then
	l3m=$LOGS/three-level-measured.txt
	rm -f "$l3m"
	if "$TOP/scripts/three-level-build.sh" prepare >"$LOGS/three-level-build.log" 2>&1; then
		"$TOP/scripts/three-level.sh" >"$LOGS/three-level.log" 2>&1 || true
	fi
fi
echo >>"$out/bench.txt"
if [ -s "$l3m" ] && python3 "$TOP/scripts/bench_three_level.py" "$l3m" "${L3_MIB:-64}" >"$LOGS/three-level-bench.txt"; then
	tee -a "$out/bench.txt" <"$LOGS/three-level-bench.txt"
else
	echo "three levels: no figures (see $LOGS/three-level-build.log, $LOGS/three-level.log)" | tee -a "$out/bench.txt"
	rc=1
fi
# extra SCRIPT TXT WHAT: one of make bench's comparisons (make bench only,
# not make check's counts), its table appended to bench.txt.
extra() {
	echo >>"$out/bench.txt"
	if "$TOP/scripts/$1.sh" >"$LOGS/$1.log" 2>&1; then
		tee -a "$out/bench.txt" <"$out/$2"
	else
		echo "$3: not measured (see $LOGS/$1.log)" | tee -a "$out/bench.txt"
		rc=1
	fi
}
# Ours against upstream (a kernel build the first time, then 2 x
# BENCH_ROUNDS L0 boots; BENCH_UPSTREAM=0 leaves it out); no cost for hosts
# that do not nest: the DMA API's map/unmap benchmark on the base and on
# the series (two kernel builds the first time, 2 x BENCH_ROUNDS boots
# timed and 2 x 5 short ones counted in instructions; BENCH_DMA=0 leaves it
# out)
if [ "$build" = 1 ]; then
	[ "${BENCH_UPSTREAM:-1}" = 1 ] && extra bench-upstream bench-upstream.txt "ours/upstream"
	[ "${BENCH_DMA:-1}" = 1 ] && extra bench-dma bench-dma.txt "DMA API benchmark"
fi
say "bench: $out/bench.txt, bench.csv, bench.png"
exit "$rc"
