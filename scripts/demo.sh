#!/usr/bin/env bash
# make demo: build the patched kernel, boot it under QEMU's nested SMMUv3 with
# an edu DMA device (tests/plan.conf's boot "demo"), and tell in plain words
# what happened (scripts/demo.py, tests/demo.conf). Exits non-zero when
# anything failed. Logs and results: build/runs/demo/.
set -euo pipefail
export WB_CMD=${WB_CMD:-demo}
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

rm -rf "$RESULTS" "$LOGS"
say "setting up (packages, base, work tree)"
run_logged setup "$TOP/scripts/setup.sh"
run_logged tree "$TOP/scripts/tree.sh"
base_used
say "base: $BASE_PACKAGE $BASE_USED_VERSION"
[ "$BASE_USED_VERSION" = "$BASE_VERSION" ] ||
	warn "the pinned base $BASE_VERSION is no longer served: the demo runs on $BASE_USED_VERSION"
say "building the patched arm64 kernel and the test programs (log: $LOGS/)"
run_logged kernel "$TOP/scripts/build.sh" kernel test
run_logged selftests "$TOP/scripts/build.sh" selftests
run_logged initramfs "$TOP/scripts/build.sh" initramfs test
say "booting it under QEMU with a nested SMMUv3; the edu device does nested DMA"
"$TOP/scripts/run.sh" demo >"$LOGS/demo-run.log" 2>&1 || true
grep -E '^ +\.\.\. ' "$LOGS/demo-run.log" || true
read -r machine _ < <(python3 "$TOP/scripts/plan.py" boot demo)
qemu_m=$(sed -n "s/^${machine}) mach=(-M \"\\([^\"]*\\)\".*/\\1/p" "$TOP/scripts/run.sh")
pinned=
[ "$BASE_USED_VERSION" = "$BASE_VERSION" ] || pinned="$BASE_PACKAGE $BASE_VERSION"
echo
python3 "$TOP/scripts/demo.py" \
	--header "$TREE/drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3.h" \
	--base "$BASE_PACKAGE $BASE_USED_VERSION" --pinned "$pinned" \
	--patches "$(git -C "$TREE" rev-list --count base..HEAD)" \
	--qemu "$(qemu-system-aarch64 --version | head -1)" \
	--machine "${qemu_m:-$machine}" \
	--results "$RESULTS/demo.txt" \
	"$LOGS/boot-demo.log"
