#!/usr/bin/env bash
# make demo: build the patched kernel, boot it under QEMU's nested SMMUv3 with
# an edu DMA device (configs/plan.conf's role "demo"), and tell in plain words
# what happened (scripts/demo.py, configs/demo.conf); then the three-level
# machine (scripts/three-level.sh) and its story (scripts/demo_three_level.py,
# configs/demo-three-level.conf). Exits non-zero when anything failed. Logs and
# results: build/runs/demo/.
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
run_logged initramfs "$TOP/scripts/build.sh" initramfs
say "booting it under QEMU with a nested SMMUv3; the edu device does nested DMA"
boot=$(python3 "$TOP/scripts/plan.py" role demo)
"$TOP/scripts/run.sh" "$boot" >"$LOGS/demo-run.log" 2>&1 || true
grep -E '^ +\.\.\. ' "$LOGS/demo-run.log" || true
# the machine as QEMU was run: its -M (the command line run.sh wrote)
qemu_m=$(python3 -c 'import shlex, sys; a = shlex.split(open(sys.argv[1]).read()); print(a[a.index("-M") + 1])' \
	"$LOGS/boot-$boot-cmdline.txt" 2>/dev/null) || qemu_m=
pinned=
[ "$BASE_USED_VERSION" = "$BASE_VERSION" ] || pinned="$BASE_PACKAGE $BASE_VERSION"
echo
rc=0
python3 "$TOP/scripts/demo.py" \
	--header "$TREE/drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3.h" \
	--base "$BASE_PACKAGE $BASE_USED_VERSION" --pinned "$pinned" \
	--patches "$(git -C "$TREE" rev-list --count base..HEAD)" \
	--qemu "$(qemu-system-aarch64 --version | head -1)" \
	--machine "${qemu_m:-unknown: no $LOGS/boot-$boot-cmdline.txt}" \
	--results "$RESULTS/$boot.txt" \
	"$LOGS/boot-$boot.log" || rc=1

# Three levels: the same kernel as the host of an unmodified QEMU 11.1.3
# with KVM, a stock Debian kernel as its guest (scripts/three-level.sh)
echo
say "three levels: fetching Debian's arm64 QEMU 11.1.3 and kernel, building the initramfs (log: $LOGS/)"
l3res=$RESULTS/three-level.txt
if run_logged three-level-prepare "$TOP/scripts/three-level-build.sh" prepare; then
	say "booting L0 (QEMU) -> L1 (this kernel, KVM, QEMU 11.1.3) -> L2 (Debian's kernel): about 2 minutes"
	"$TOP/scripts/three-level.sh" >"$LOGS/three-level.log" 2>&1 || true
fi
echo
python3 "$TOP/scripts/demo_three_level.py" --results "$l3res" \
	--used "$BUILD/three-level/packages-used.txt" \
	--l0-qemu "$(qemu-system-aarch64 --version | head -1)" || rc=1
[ -s "$l3res" ] || echo "The three-level logs: $LOGS/three-level-prepare.log, $LOGS/three-level.log"
exit "$rc"
