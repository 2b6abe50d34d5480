#!/usr/bin/env bash
# make check: everything, ending with "N passed, N failed, N skipped".
#   1. setup (packages), work tree (base + patches/)
#   2. the workbench's own tests (parser, shellcheck)
#   3. the test kernel, kselftests and initramfs
#   4. boots: nested (KUnit + iommu kselftests), stage-1-only, stage-2-only,
#      the nested suite on the debug kernel (with a kmemleak scan after it),
#      and make bench's (its command counts are checked)
#   5. per-patch checks (check-patches.sh), and their self-test on a
#      generated series of broken patches (check-checker.sh)
# A step that fails is counted as a failure naming the step and its log; the
# steps that do not depend on it still run.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

RESULTS=$BUILD/results
# Programs run in the nested guest, and the guest's wall-clock limit.
NESTED_TESTS=iommufd,iommufd_fail_nth,iommufd_smmuv3,iommufd_nested_dma
# On the single-stage machines: what the SMMU reports, and its refusals
OTHER_TESTS=iommufd_smmuv3,iommufd_nested_dma
NESTED_LIMIT=900
OTHER_LIMIT=300
DEBUG_LIMIT=1500

start=$(date +%s)
rm -rf "$RESULTS"
mkdir -p "$RESULTS" "$LOGS"
steps=$RESULTS/steps.txt
: >"$steps"

elapsed() { printf '%dm%02ds' $((($(date +%s) - start) / 60)) $((($(date +%s) - start) % 60)); }

# step NAME CMD...: run a step with its log; record PASS/FAIL step:NAME.
step() {
	local name=$1
	shift
	say "[$(elapsed)] $name"
	if run_logged "$name" "$@"; then
		echo "PASS step:$name" >>"$steps"
		return 0
	fi
	echo "FAIL step:$name -- see $LOGS/$name.log" >>"$steps"
	return 1
}

step setup "$TOP/scripts/setup.sh" || { cat "$LOGS/setup.log"; exit 1; }
step tree "$TOP/scripts/tree.sh" || { tail -n 5 "$LOGS/tree.log"; exit 1; }

# The workbench's own tests: the log parser must be able to fail.
say "[$(elapsed)] workbench self-tests"
python3 -m unittest discover -s "$TOP/tests" -p 'test_*.py' -v \
	>"$LOGS/selftest-parse.log" 2>&1 || true
sed -nE 's/^(test_\w+) .* \.\.\. (ok|FAIL|ERROR)$/\2 workbench:parse.\1/p' \
	"$LOGS/selftest-parse.log" |
	sed -E 's/^ok /PASS /; s/^(FAIL|ERROR) /FAIL /' >"$RESULTS/workbench.txt"
grep -q . "$RESULTS/workbench.txt" ||
	echo "FAIL workbench:parse -- no result; see $LOGS/selftest-parse.log" >>"$RESULTS/workbench.txt"
if (cd "$TOP" && shellcheck scripts/*.sh .ci/run) >"$LOGS/shellcheck.log" 2>&1; then
	echo "PASS workbench:shellcheck" >>"$RESULTS/workbench.txt"
else
	echo "FAIL workbench:shellcheck -- see $LOGS/shellcheck.log" >>"$RESULTS/workbench.txt"
fi

built=1
step kernel "$TOP/scripts/build.sh" kernel test || built=0
step selftests "$TOP/scripts/build.sh" selftests || built=0
[ "$built" -eq 1 ] && { step initramfs "$TOP/scripts/build.sh" initramfs test || built=0; }

if [ "$built" -eq 1 ]; then
	say "[$(elapsed)] boot: nested SMMUv3 (S1+S2), KUnit and kselftests"
	"$TOP/scripts/run.sh" nested test "$NESTED_TESTS" "$NESTED_LIMIT" ||
		echo "FAIL step:boot-nested" >>"$steps"
	for m in s1only s2only; do
		say "[$(elapsed)] boot: $m SMMUv3"
		"$TOP/scripts/run.sh" "$m" test "$OTHER_TESTS" "$OTHER_LIMIT" ||
			echo "FAIL step:boot-$m" >>"$steps"
	done
	# The debug kernel (KASAN, lockdep, kmemleak, UBSAN, atomic sleep, fault
	# injection): the whole nested suite again; any report is a failure.
	if step kernel-debug "$TOP/scripts/build.sh" kernel debug; then
		say "[$(elapsed)] boot: nested SMMUv3 on the debug kernel"
		"$TOP/scripts/run.sh" nested debug "$NESTED_TESTS" "$DEBUG_LIMIT" ||
			echo "FAIL step:boot-nested-debug" >>"$steps"
	fi
	# The benchmark's counts are checked (its timings only reported)
	say "[$(elapsed)] bench: commands per invalidation and per STE switch"
	"$TOP/scripts/bench.sh" --no-build >"$LOGS/bench.log" 2>&1 ||
		grep -q '^FAIL' "$RESULTS"/bench*.txt ||
		echo "FAIL step:bench -- see $LOGS/bench.log" >>"$steps"
else
	echo "FAIL step:boot -- not run: the build failed" >>"$steps"
fi

# These two write their results; a failure without results is a crash.
say "[$(elapsed)] per-patch checks"
"$TOP/scripts/check-patches.sh" || grep -q '^FAIL' "$RESULTS/patches.txt" ||
	echo "FAIL step:check-patches -- it stopped; see the output above" >>"$steps"
say "[$(elapsed)] per-patch checks' self-test (a generated broken series)"
"$TOP/scripts/check-checker.sh" >/dev/null || grep -q '^FAIL' "$RESULTS/checker.txt" ||
	echo "FAIL step:check-checker -- it stopped; see $LOGS/checker-selftest.log" >>"$steps"

# Summary.
all=$(cat "$RESULTS"/*.txt)
pass=$(grep -c '^PASS' <<<"$all" || true)
fail=$(grep -c '^FAIL' <<<"$all" || true)
skip=$(grep -c '^SKIP' <<<"$all" || true)
echo
say "summary after $(elapsed) (results in $RESULTS, logs in $LOGS)"
for f in "$RESULTS"/*.txt; do
	printf '    %-22s %4d passed, %3d failed, %3d skipped\n' "$(basename "$f" .txt)" \
		"$(grep -c '^PASS' "$f" || true)" "$(grep -c '^FAIL' "$f" || true)" \
		"$(grep -c '^SKIP' "$f" || true)"
done
if [ "$fail" -gt 0 ]; then
	echo "Failures:"
	grep '^FAIL' <<<"$all" | sed 's/^/    /'
fi
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
