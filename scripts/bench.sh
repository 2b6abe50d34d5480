#!/usr/bin/env bash
# make bench: the cost of a guest's invalidations and STE transitions on
# QEMU's nested SMMUv3, counted from QEMU's trace and cross-checked with the
# driver's own count (tests/nest_bench.c in the guest, scripts/bench.py on
# the host). Writes build/bench/bench.{txt,csv,png}. Then the three-level
# machine's ratios (scripts/l3_bench.py): L2's NVMe throughput behind QEMU
# 11.1.3's accelerated vSMMUv3 against plain assignment, guest commands per
# MiB, from one L0 boot (scripts/run-l3.sh), appended to bench.txt.
#   bench.sh [--no-build] [--l3 MEASURED]
#     --no-build: use the kernel and initramfs already built
#     --l3 MEASURED: take the three-level figures of a run already made
#       (make check's) instead of booting it again
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

build=1
l3m=
while [ $# -gt 0 ]; do
	case "$1" in
	--no-build) build=0 ;;
	--l3) l3m=$2; shift ;;
	*) die "usage: bench.sh [--no-build] [--l3 MEASURED]" ;;
	esac
	shift
done
if [ "$build" = 1 ]; then
	"$TOP/scripts/setup.sh" >/dev/null
	"$TOP/scripts/tree.sh"
	"$TOP/scripts/build.sh" kernel test
	"$TOP/scripts/build.sh" selftests
	"$TOP/scripts/build.sh" initramfs test
fi

out=$BUILD/bench
mkdir -p "$out" "$RESULTS"
rc=0
# The boot "bench" of tests/plan.conf
QEMU_TRACE=$out/qemu-trace.log "$TOP/scripts/run.sh" bench || rc=1
python3 "$TOP/scripts/bench.py" --log "$LOGS/boot-bench.log" \
	--trace "$out/qemu-trace.log" \
	--kunit-src "$TREE/drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3-test.c" \
	--out "$out" --results "$RESULTS/bench-counts.txt" || rc=1
grep '^FAIL' "$RESULTS/bench-counts.txt" | sed 's/^/    /' || true

# Three levels
if [ -z "$l3m" ]; then
	l3m=$BUILD/l3/results/l3-measured.txt
	rm -f "$l3m"
	if "$TOP/scripts/l3-build.sh" prepare >"$out/l3-build.log" 2>&1; then
		"$TOP/scripts/run-l3.sh" >"$out/l3-run.log" 2>&1 || true
	fi
fi
echo >>"$out/bench.txt"
if [ -s "$l3m" ] && python3 "$TOP/scripts/l3_bench.py" "$l3m" "${L3_MIB:-64}" >"$out/l3-bench.txt"; then
	tee -a "$out/bench.txt" <"$out/l3-bench.txt"
else
	echo "three levels: no figures (see $out/l3-build.log, $out/l3-run.log)" | tee -a "$out/bench.txt"
	rc=1
fi
say "bench: $out/bench.txt, bench.csv, bench.png"
exit "$rc"
