#!/usr/bin/env bash
# make demo: build the patched kernel, boot it under QEMU's nested SMMUv3 with
# an edu DMA device, and tell in plain words what happened.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

say "setting up (packages, base, work tree)"
run_logged setup "$TOP/scripts/setup.sh"
run_logged tree "$TOP/scripts/tree.sh"
say "building the patched arm64 kernel and the test programs (log: $LOGS/)"
run_logged kernel "$TOP/scripts/build.sh" kernel test
run_logged selftests "$TOP/scripts/build.sh" selftests
run_logged initramfs "$TOP/scripts/build.sh" initramfs test
say "booting it under QEMU with a nested SMMUv3; the edu device does nested DMA"
"$TOP/scripts/run.sh" nested test iommufd_nested_dma 300 >"$LOGS/demo-run.log" 2>&1 || true
echo
python3 "$TOP/scripts/demo.py" \
	--header "$TREE/drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3.h" \
	--base "$BASE_PACKAGE $BASE_VERSION" \
	--patches "$(git -C "$TREE" rev-list --count base..HEAD)" \
	--qemu "$(qemu-system-aarch64 --version | head -1)" \
	--results "$BUILD/results/nested-test.txt" \
	"$LOGS/boot-nested-test.log"
