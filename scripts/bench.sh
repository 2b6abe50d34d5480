#!/usr/bin/env bash
# make bench: the cost of a guest's invalidations and STE transitions on
# QEMU's nested SMMUv3, counted from QEMU's trace and cross-checked with the
# driver's own count (tests/nest_bench.c in the guest, scripts/bench.py on
# the host). Writes build/bench/bench.{txt,csv,png}.
#   bench.sh [--no-build]   --no-build: use the kernel and initramfs already built
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

if [ "${1:-}" != --no-build ]; then
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
say "bench: $out/bench.txt, bench.csv, bench.png"
exit "$rc"
