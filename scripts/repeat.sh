#!/usr/bin/env bash
# make repeat: run chosen test cases N times in one boot of the nested
# machine, on the test or the debug kernel, and count how often each passed.
#   TESTS=PROG[:CASE|:-OPT...][,...] N=20 VARIANT=test|debug [SEED=...]
# CASE is a kselftest harness name: FIXTURE[.VARIANT].TEST (run with -r) or
# a test's name alone (-t); arguments that start with '-' are passed as
# they are (e.g. iommufd_nested_dma:-f:nested_dma). The guest's wall-clock
# limit is the sum of the programs' deadlines (tests/plan.conf) plus boot.
# Logs and results: build/runs/repeat/.
set -euo pipefail
export WB_CMD=${WB_CMD:-repeat}
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

tests=${TESTS:?TESTS=PROG[:CASE],... is needed, e.g. TESTS=iommufd_nested_dma:fault_storm}
n=${N:-1}
variant=${VARIANT:-test}
[[ $n =~ ^[1-9][0-9]*$ ]] || die "N must be a positive count, not '$n'"
case "$variant" in test | debug) ;; *) die "VARIANT must be test or debug" ;; esac

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
limit=120
for s in "${specs[@]}"; do
	d=$(python3 "$TOP/scripts/plan.py" programs "$variant" "$s")
	limit=$((limit + n * ${d##*@}))
done

rm -rf "$RESULTS" "$LOGS"
mkdir -p "$RESULTS" "$LOGS"
run_logged tree "$TOP/scripts/tree.sh"
run_logged kernel "$TOP/scripts/build.sh" kernel "$variant"
run_logged selftests "$TOP/scripts/build.sh" selftests
run_logged initramfs "$TOP/scripts/build.sh" initramfs "$variant"
say "repeat: ${specs[*]}, $n time(s), $variant kernel, limit ${limit}s"
WB_TESTS=$list WB_REPEAT=$n WB_LIMIT=$limit WB_NAME=repeat "$TOP/scripts/run.sh" "repeat-$variant" || true

# How often each case passed, over the N runs.
res=$RESULTS/repeat.txt
echo
say "repeat: passes per case over $n run(s)"
sed -nE 's/^(PASS|FAIL|SKIP) repeat:kselftest\.([^#. ]+)(#[0-9]+)?\.([^ ]+).*/\1 \2.\4/p' "$res" |
	grep -v '\.finished$' | sort | uniq -c |
	awk '{ printf "    %-60s %s %d\n", $3, $2, $1 }' | sort
"$TOP/scripts/summary.sh"
