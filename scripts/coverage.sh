#!/usr/bin/env bash
# make coverage: which of the lines the series adds run under test.
#   1. the coverage kernel (configs/coverage.config: the test kernel with
#      CONFIG_GCOV_KERNEL; only COVERAGE_DIRS, drivers/iommu by default, is
#      profiled, through make's command line: the tree is not touched), in
#      build/out/coverage; the kselftests and the initramfs
#   2. the boot of configs/plan.conf's role "coverage": the nested machine, KUnit at boot
#      and the programs of make check's nested boot; /init then writes
#      /sys/kernel/debug/gcov's .gcda files to a raw virtio disk
#   3. lcov (the cross gcov) over those .gcda and the build's .gcno files;
#      scripts/coverage.py restricts the data to the lines base..HEAD adds,
#      per file and per patch, and lists the blocks never executed with
#      their reasons (configs/coverage.conf)
# Environment: COVERAGE_DIRS="drivers/iommu ..." (profiled and reported),
# COVERAGE_DOC=1 rewrites the block table of docs/coverage.md.
# Logs and results: build/runs/coverage/{logs,results}; the report in
# build/runs/coverage/report/ (report.txt, coverage.info, added.info,
# report.md, html/index.html). Not part of make check (cost: README).
set -euo pipefail
export WB_CMD=${WB_CMD:-coverage}
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

start=$(date +%s)
elapsed() { printf '%dm%02ds' $((($(date +%s) - start) / 60)) $((($(date +%s) - start) % 60)); }

out=$BUILD/out/coverage
report=$RUNDIR/report
gcda=$RUNDIR/gcda
disk=$RUNDIR/gcov.img
gcov=${CROSS_COMPILE}gcov
command -v lcov >/dev/null || die "no lcov: run 'make setup'"
command -v "$gcov" >/dev/null || die "no $gcov: run 'make setup'"
rm -rf "$RESULTS" "$LOGS" "$report" "$gcda" "$disk"
mkdir -p "$RESULTS" "$LOGS" "$report"

say "[$(elapsed)] coverage kernel (gcov: ${COVERAGE_DIRS:-drivers/iommu}), kselftests, initramfs"
run_logged tree "$TOP/scripts/tree.sh"
run_logged kernel "$TOP/scripts/build.sh" kernel coverage
run_logged selftests "$TOP/scripts/build.sh" selftests
run_logged initramfs "$TOP/scripts/build.sh" initramfs

# The boot's own results (KUnit, kselftests, splats) count: coverage of a
# run that failed is still reported, and the failure with it.
boot=$(python3 "$TOP/scripts/plan.py" role coverage)
say "[$(elapsed)] boot $boot"
WB_GCOV=$disk "$TOP/scripts/run.sh" "$boot" || true
python3 "$TOP/scripts/protocol.py" wb gcov "$LOGS/boot-$boot.log" | sed 's/^/    wb: /' ||
	die "the guest wrote no gcov data (no 'wb: gcov:' line in $LOGS/boot-$boot.log)"

say "[$(elapsed)] lcov"
run_logged gcda python3 "$TOP/scripts/coverage.py" gcda "$disk" "$out" "$gcda"
run_logged lcov lcov --capture --rc lcov_branch_coverage=0 --directory "$gcda" \
	--base-directory "$out" --gcov-tool "$gcov" --output-file "$report/coverage.info"

say "[$(elapsed)] the lines base..HEAD adds"
args=(--tree "$TREE" --base base --info "$report/coverage.info" --out "$report"
	--results "$RESULTS/added-lines.txt")
[ -n "${COVERAGE_DIRS:-}" ] && args+=(--dirs "$COVERAGE_DIRS")
[ "${COVERAGE_DOC:-}" = 1 ] && args+=(--doc "$TOP/docs/coverage.md")
python3 "$TOP/scripts/coverage.py" report "${args[@]}" | sed 's/^/    /'

# HTML of the profiled directories, whole files (the added lines' own
# tracefile, added.info, is in the report directory)
mapfile -t pats < <(for d in ${COVERAGE_DIRS:-drivers/iommu}; do echo "$TREE/${d%/}/*"; done)
if lcov --quiet --extract "$report/coverage.info" "${pats[@]}" \
	--output-file "$report/dirs.info" >"$LOGS/html.log" 2>&1 &&
	genhtml --quiet --prefix "$TREE" --output-directory "$report/html" \
		"$report/dirs.info" >>"$LOGS/html.log" 2>&1; then
	say "report: $report/report.txt, html: $report/html/index.html"
else
	warn "genhtml failed (see $LOGS/html.log); report: $report/report.txt"
fi
"$TOP/scripts/summary.sh" "$(elapsed)"
