#!/usr/bin/env bash
# make repeat: run chosen test cases N times in one boot, on the machine and
# kernel of a boot of configs/plan.conf, and count how often each passed.
#   TESTS=PROG[:CASE|:-OPT...][,...] N=20 [BOOT=NAME | VARIANT=KERNEL] [SEED=...]
# BOOT: the boot whose machine and kernel variant to use (default: the role
# "repeat"'s boot); the summary of make check prints this command, with the
# failed boot, for each failed case. VARIANT alone: the first boot of the
# default boot's machine on that kernel. CASE is a kselftest harness name:
# FIXTURE[.VARIANT].TEST (run with -r) or a test's name alone (-t);
# arguments that start with '-' are passed as they are (e.g.
# iommufd_nested_dma:-f:nested_dma). The guest's wall-clock limit is the sum
# of the programs' deadlines (configs/plan.conf), N times, plus its
# boot-overhead.
#   repeat.sh --dry-run: check the arguments, print what would run, exit.
# Logs and results: build/runs/repeat/.
set -euo pipefail
export WB_CMD=${WB_CMD:-repeat}
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

plan() { python3 "$TOP/scripts/plan.py" "$@"; }
tests=${TESTS:?TESTS=PROG[:CASE],... is needed, e.g. TESTS=iommufd_nested_dma:fault_storm}
n=${N:-1}
[[ $n =~ ^[1-9][0-9]*$ ]] || die "N must be a positive count, not '$n'"
boot=${BOOT:-}
if [ -z "$boot" ]; then
	boot=$(plan role repeat)
	if [ -n "${VARIANT:-}" ]; then
		read -r machine _ < <(plan boot "$boot")
		boot=$(plan boot-for "$machine" "$VARIANT") || die "VARIANT=$VARIANT: no such boot"
	fi
fi
read -r machine variant _ < <(plan boot "$boot") || die "BOOT=$boot: no such boot in configs/plan.conf"

specs=()
IFS=, read -ra items <<<"$tests"
for item in "${items[@]}"; do
	prog=${item%%:*}
	spec=$prog
	if [ "$item" != "$prog" ]; then
		IFS=: read -ra args <<<"${item#*:}"
		for a in "${args[@]}"; do
			case "$a" in
			-*) spec+=":$a" ;;
			*.*) spec+=":-r:$a" ;;
			*) spec+=":-t:$a" ;;
			esac
		done
	fi
	specs+=("$spec")
done
# the list once: /init runs it N times (wb.repeat)
list=
for s in "${specs[@]}"; do list+=${list:+,}$s; done
limit=$(plan boot-overhead)
for s in "${specs[@]}"; do
	d=$(plan programs "$variant" "$s")
	[[ $d == *@* ]] || die "no deadline for $s on the $variant kernel in configs/plan.conf"
	limit=$((limit + n * ${d##*@}))
done
say "repeat: ${specs[*]}, $n time(s), boot $boot ($machine machine, $variant kernel), limit ${limit}s${SEED:+, seed $SEED}"
[ "${1:-}" = --dry-run ] && exit 0

rm -rf "$RESULTS" "$LOGS"
mkdir -p "$RESULTS" "$LOGS"
run_logged tree "$TOP/scripts/tree.sh"
run_logged kernel "$TOP/scripts/build.sh" kernel "$variant"
run_logged selftests "$TOP/scripts/build.sh" selftests
run_logged initramfs "$TOP/scripts/build.sh" initramfs
WB_TESTS=$list WB_REPEAT=$n WB_LIMIT=$limit WB_NAME=repeat "$TOP/scripts/run.sh" "$boot" || true

# How often each case passed, over the N runs.
echo
say "repeat: passes per case over $n run(s)"
python3 "$TOP/scripts/results.py" passes "$RESULTS/repeat.txt"
"$TOP/scripts/summary.sh"
