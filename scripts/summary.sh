#!/usr/bin/env bash
# The summary of a command's results ($RESULTS/*.txt): counts per file, each
# failure, how to replay a failed guest case, and as the last line
# "N passed, N failed, N skipped". Exits non-zero if anything failed.
#   summary.sh [ELAPSED]
# Result lines: PASS, FAIL, SKIP (an expected skip, with its reason), NA (a
# check that had nothing to test: not counted as passed); INFO lines are
# not results.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

count() { grep -c "^$1 " "${@:2}" 2>/dev/null || true; }

shopt -s nullglob
files=("$RESULTS"/*.txt)
all=$(cat "${files[@]}" /dev/null)
pass=$(grep -c '^PASS ' <<<"$all" || true)
fail=$(grep -c '^FAIL ' <<<"$all" || true)
skip=$(grep -c '^SKIP ' <<<"$all" || true)
na=$(grep -c '^NA ' <<<"$all" || true)
echo
say "summary${1:+ after $1} (base $BASE_PACKAGE $BASE_USED_VERSION; results in $RESULTS, logs in $LOGS)"
[ "$BASE_USED_VERSION" = "$BASE_VERSION" ] ||
	warn "the base is $BASE_USED_VERSION, not the pinned $BASE_VERSION"
for f in "${files[@]}"; do
	printf '    %-22s %4d passed, %3d failed, %3d skipped, %3d not applicable\n' \
		"$(basename "$f" .txt)" "$(count PASS "$f")" "$(count FAIL "$f")" \
		"$(count SKIP "$f")" "$(count NA "$f")"
done
if [ "$fail" -gt 0 ]; then
	echo "Failures:"
	grep '^FAIL ' <<<"$all" | sed 's/^/    /'
	# A failed case of a guest program: how to run it again, with the seed
	# it ran with.
	replay=$(for f in "${files[@]}"; do
		b=$(basename "$f" .txt)
		variant=$(python3 "$TOP/scripts/plan.py" boot "$b" 2>/dev/null | cut -d' ' -f2) || continue
		[ -n "$variant" ] || continue
		sed -nE "s/^FAIL $b:(splat\\.)?kselftest\\.([^.# ]+)(#[0-9]+)?\\.([^ ]+).*/\\2 \\4/p" "$f" |
			grep -v ' finished$' | sort -u | while read -r prog case; do
				seed=${SEED:-$(sed -n "s/^INFO seed $prog\\(#[0-9]*\\)\\? //p" "$f" | head -1)}
				printf '    make repeat TESTS=%s:%s N=1 VARIANT=%s%s\n' "$prog" "$case" \
					"$variant" "${seed:+ SEED=$seed}"
			done
	done | sort -u)
	if [ -n "$replay" ]; then
		echo "To replay a failed case:"
		printf '%s\n' "$replay"
	fi
fi
[ "$na" -eq 0 ] || echo "$na not applicable (checks that had nothing to test; not counted)"
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
