#!/usr/bin/env bash
# make check: everything, ending with "N passed, N failed, N skipped".
#   1. setup (packages), work tree (base + patches/)
#   2. the workbench's own tests (parser, demo, plan, shellcheck), upstream's
#      uAPI header and Debian's newest 6.12.y: beside the test kernel's build
#   3. the test kernel, kselftests and initramfs
#   4. the boots configs/plan.conf lists on its "check" line: the test
#      kernel's, then the end-to-end test of the verdict (role "e2e": an
#      injected WARNING, a hung case and an unexpected skip must each fail,
#      by name); the debug kernel and its boot; the three-level machine
#      (three-level.sh: the test and debug kernels as L1 running QEMU
#      11.1.3, L2 a stock Debian kernel); and make bench's figures from the
#      three-level runs (its command counts are checked)
#   5. per-patch checks (check-patches.sh), and their own test on a
#      generated series of broken patches (check-checker.sh): these run
#      beside the boots of 4, once the test kernel is built (see below)
# A step that fails is counted as a failure naming the step and its log; the
# steps that do not depend on it still run. SEED=... is passed to the guests
# ($NESTED_DMA_SEED); on a failure the summary prints how to replay it.
# Logs and results: build/runs/check/.
set -euo pipefail
export WB_CMD=${WB_CMD:-check}
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

add() { python3 "$TOP/scripts/results.py" add "$@"; }
failed() { python3 "$TOP/scripts/results.py" failed "$@"; }

# check.sh --patches: the second lane of make check (below), alone. The
# checker's self-test first: it builds the base, and leaves the build
# directories there (its broken patches touch two files), where the
# series' checks start (were it after them, going from the series' head
# back to the base would rebuild all the series touched).
if [ "${1:-}" = --patches ]; then
	# These two write their results; a failure without results is a crash.
	"$TOP/scripts/check-checker.sh" >"$LOGS/check-checker.log" 2>&1 || failed "$RESULTS/checker.txt" ||
		add "$RESULTS/steps-patches.txt" FAIL step:check-checker "it stopped; see $LOGS/check-checker.log and $RUNDIR/checker/"
	"$TOP/scripts/check-patches.sh" >"$LOGS/check-patches.log" 2>&1 || failed "$RESULTS/patches.txt" ||
		add "$RESULTS/steps-patches.txt" FAIL step:check-patches "it stopped; see $LOGS/check-patches.log"
	exit 0
fi

start=$(date +%s)
rm -rf "$RESULTS" "$LOGS"
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
		add "$steps" PASS "step:$name"
		return 0
	fi
	add "$steps" FAIL "step:$name" "see $LOGS/$name.log"
	return 1
}

# boot NAME: one boot of plan.conf; its results are $RESULTS/NAME.txt. A
# boot that failed without results (QEMU did not start...) is a failure.
boot() {
	say "[$(elapsed)] boot $1"
	"$TOP/scripts/run.sh" "$1" || [ -s "$RESULTS/$1.txt" ] ||
		add "$steps" FAIL "step:boot-$1" "no results; see the output above"
}

step setup "$TOP/scripts/setup.sh" || { cat "$LOGS/setup.log"; exit 1; }
step tree "$TOP/scripts/tree.sh" || { tail -n 5 "$LOGS/tree.log"; exit 1; }
base_used
say "base: $BASE_PACKAGE $BASE_USED_VERSION"
[ "$BASE_USED_VERSION" = "$BASE_VERSION" ] ||
	warn "the pinned base $BASE_VERSION is no longer served: this run is on $BASE_USED_VERSION"
# Three things that need no kernel run in the background, beside the test
# kernel's build (they are mostly one process or the network, about 40 s):
# - is Debian serving a newer 6.12.y than the pin, and does the queue apply
#   to it? A warning, never a failure (scripts/drift.sh): a drift is seen
#   the day it happens, not when the pin leaves the mirror;
# - upstream's uAPI header, for the conformance check and its unit test;
# - the workbench's own tests (make test-workbench: unit tests, shellcheck,
#   pyflakes): the log parser must be able to fail.
say "[$(elapsed)] in the background: drift (the newest linux-source-6.12 Debian serves), upstream's uAPI header, the workbench's own tests"
(
	"$TOP/scripts/drift.sh" >"$LOGS/drift.log" 2>&1 || true
	inc=
	step fetch-uapi "$TOP/scripts/fetch-uapi.sh" && inc=$(tail -n 1 "$LOGS/fetch-uapi.log")
	UAPI_UPSTREAM_INCLUDE=$inc "$TOP/scripts/test-workbench.sh" >"$LOGS/test-workbench.log" 2>&1 || true
) </dev/null &
early=$!

built=1
step kernel "$TOP/scripts/build.sh" kernel test || built=0
wait "$early" || true
grep '^DRIFT:' "$LOGS/drift.log" | sed 's/^/    /' || true
uapi_inc=
grep -qx 'PASS step:fetch-uapi' "$steps" && uapi_inc=$(tail -n 1 "$LOGS/fetch-uapi.log")
export UAPI_UPSTREAM_INCLUDE=$uapi_inc
step selftests "$TOP/scripts/build.sh" selftests || built=0
[ "$built" -eq 1 ] && { step initramfs "$TOP/scripts/build.sh" initramfs || built=0; }

# The second lane: the per-patch checks and their self-test run beside the
# boots below, once the test kernel is built (their build of the last patch
# then hits its cache). A boot keeps about one core busy (QEMU's TCG runs
# the guest's one test program at a time); the lane runs at a lower
# priority (nice 10), so that the boots' limits and deadlines see about the
# machine they would see alone.
say "[$(elapsed)] per-patch checks and their self-test: beside the boots (log $LOGS/check-patches.log, check-checker.log)"
bg_start nice -n 10 "$TOP/scripts/check.sh" --patches </dev/null
patches_lane=$BG_PID

# The series' uAPI is upstream's: every symbol of its iommufd.h (installed
# by the selftests step) has upstream's value and layout.
say "[$(elapsed)] uAPI conformance with upstream's include/uapi/linux/iommufd.h"
if [ -n "$uapi_inc" ] && [ -r "$BUILD/out/headers/usr/include/linux/iommufd.h" ]; then
	python3 "$TOP/scripts/uapi_conformance.py" --ours "$BUILD/out/headers/usr/include" \
		--upstream "$uapi_inc" >"$RESULTS/uapi.txt" 2>"$LOGS/uapi.log" ||
		failed "$RESULTS/uapi.txt" ||
		add "$RESULTS/uapi.txt" FAIL uapi:conformance "it stopped; see $LOGS/uapi.log"
else
	add "$RESULTS/uapi.txt" FAIL uapi:conformance "not run: no upstream header or no installed uAPI"
fi

mapfile -t boots < <(python3 "$TOP/scripts/plan.py" check)
if [ "$built" -eq 1 ]; then
	# The order: the test kernel's boots and the end-to-end test; the other
	# kernel (debug) built, its boot; then the three-level legs, at once.
	# The debug boot does not share the machine with the legs: beside both
	# (2026-12-06) its iommufd cases that loop over two 16K pages took more
	# than the kselftest harness's 30 s per test, and the debug leg 831 s
	# of its 900.
	declare -A variant_of=() variant_built=([test]=1)
	for b in "${boots[@]}"; do
		read -r _ variant _ _ < <(python3 "$TOP/scripts/plan.py" boot "$b")
		variant_of[$b]=$variant
	done
	mapfile -t l3lines < <(python3 "$TOP/scripts/plan.py" three-level)

	# The three-level machine's pieces (QEMU 11.1.3, L2's kernel, busybox,
	# fio) need no kernel of ours: fetched and built from now on.
	bg_start "$TOP/scripts/three-level-build.sh" prepare >"$LOGS/three-level-prepare.log" 2>&1 </dev/null
	l3prep=$BG_PID

	for b in "${boots[@]}"; do
		[ "${variant_of[$b]}" = test ] && boot "$b"
	done

	# The verdict itself must be able to fail: a boot whose program injects
	# a WARNING inside a case's output, an unexpected skip and a hung case
	# must fail with each, by name, and with nothing else.
	e2e=$(python3 "$TOP/scripts/plan.py" role e2e)
	say "[$(elapsed)] the verdict's end-to-end test: boot $e2e (must fail)"
	SEED='' "$TOP/scripts/run.sh" "$e2e" >"$LOGS/$e2e.log" 2>&1 || true
	got=$LOGS/$e2e-results.txt
	mv "$RESULTS/$e2e.txt" "$got" 2>/dev/null || : >"$got"
	python3 "$TOP/scripts/results.py" expect "$got" workbench:e2e \
		"warning_inside_output=^FAIL $e2e:splat\.kselftest\.wb_faults\.wb_faults\.warning_inside_output -- WARNING:" \
		"unexpected_skip=^FAIL $e2e:kselftest\.wb_faults\.wb_faults\.unexpected_skip -- unexpected skip" \
		"hung_case=^FAIL $e2e:kselftest\.wb_faults\.finished -- killed after its [0-9]+s deadline while in kselftest\.wb_faults\.wb_faults\.hung" \
		>"$RESULTS/workbench-e2e.txt"

	# The other kernels: those of the remaining boots and of the
	# three-level lines
	for variant in $(printf '%s\n' "${variant_of[@]}" "${l3lines[@]#* }" | awk '{print $1}' | sort -u); do
		[ -n "${variant_built[$variant]:-}" ] && continue
		variant_built[$variant]=0
		step "kernel-$variant" "$TOP/scripts/build.sh" kernel "$variant" && variant_built[$variant]=1
	done

	for b in "${boots[@]}"; do
		variant=${variant_of[$b]}
		[ "$variant" = test ] && continue
		if [ "${variant_built[$variant]}" != 1 ]; then
			add "$steps" FAIL "step:boot-$b" "not run: the $variant kernel did not build"
			continue
		fi
		boot "$b"
	done

	# Three levels: the test kernel as the host (L1) under L0's QEMU, with
	# KVM and Debian's unmodified QEMU 11.1.3 giving a stock Debian kernel
	# (L2) an NVMe and edu behind the accelerated vSMMUv3 (scripts/three-level.sh);
	# the same with the debug kernel as L1 (KASAN, lockdep...: any report
	# fails it). configs/plan.conf's "three-level" lines name the runs and
	# limits; their skips are checked against it like a boot's. The legs
	# run at once: each L0 mostly keeps one of its two vCPUs busy (L2's one
	# vCPU, under L1's KVM), so two L0s share the two cores with little
	# loss; the part's wall time is measured.
	say "[$(elapsed)] three levels: L1 this kernel + QEMU 11.1.3, L2 Debian's kernel with an assigned NVMe"
	l3legs=()
	declare -A l3pid=()
	if bg_wait "$l3prep"; then
		add "$steps" PASS step:three-level-prepare
		l3start=$(date +%s)
		for line in "${l3lines[@]}"; do
			read -r name leg runs limit <<<"$line"
			if [ "${variant_built[$leg]:-}" != 1 ]; then
				add "$steps" FAIL "step:$name" "not run: the $leg kernel was not built"
				continue
			fi
			say "[$(elapsed)] $name: L1 is the $leg kernel, runs $runs, limit ${limit}s"
			bg_start env L3_NAME="$name" L1_OUT="$BUILD/out/$leg" "$TOP/scripts/three-level.sh" "$runs" "$limit" \
				>"$LOGS/$name.log" 2>&1 </dev/null
			l3pid[$name]=$BG_PID
			l3legs+=("$name")
		done
	else
		add "$steps" FAIL step:three-level-prepare "see $LOGS/three-level-prepare.log"
		tail -n 30 "$LOGS/three-level-prepare.log" >&2
	fi

	for name in "${l3legs[@]}"; do
		bg_wait "${l3pid[$name]}" || true
		grep -E '^==> L0:|passed,' "$LOGS/$name.log" | sed "s/^/    $name: /" || true
		[ -s "$RESULTS/$name.txt" ] ||
			add "$steps" FAIL "step:$name" "no results; see $LOGS/$name.log"
	done
	[ "${#l3legs[@]}" -eq 0 ] ||
		say "[$(elapsed)] three levels: ${#l3legs[@]} L0 boots at once, $(( $(date +%s) - l3start )) s of wall time"

	# The benchmark's counts are checked (its timings only reported)
	say "[$(elapsed)] bench: commands per invalidation and per STE switch"
	"$TOP/scripts/bench.sh" --no-build --three-level "$LOGS/three-level-measured.txt" >"$LOGS/bench.log" 2>&1 ||
		failed "$RESULTS"/bench*.txt ||
		add "$steps" FAIL step:bench "see $LOGS/bench.log"
else
	add "$steps" FAIL step:boot "not run: the build failed"
fi

say "[$(elapsed)] waiting for the per-patch checks and their self-test"
bg_wait "$patches_lane" || add "$steps" FAIL step:patches-lane "it stopped; see $LOGS/check-patches.log"
for f in patches checker; do
	printf '    %-9s' "$f:"
	python3 "$TOP/scripts/results.py" brief "$RESULTS/$f.txt" | head -1 || true
done

rc=0
"$TOP/scripts/summary.sh" "$(elapsed)" || rc=$?
if grep -q '^DRIFT: WARNING' "$LOGS/drift.log"; then
	echo "Not a failure, but (scripts/drift.sh, $LOGS/drift.log):"
	grep '^DRIFT:' "$LOGS/drift.log" | sed 's/^/    /'
fi
exit "$rc"
