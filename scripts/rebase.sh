#!/usr/bin/env bash
# make rebase VERSION=...: move the queue onto another linux-source-6.12
# release and check it there, without touching the installed base, build/linux
# or patches/:
#   1. fetch linux-source-6.12=VERSION's .deb with a private apt
#      configuration (scripts/debian.py; any suite of bookworm or trixie,
#      lib.sh's BASE_SUITES) and take its tarball;
#   2. build/rebase/linux = that base + patches/, each patch by git am, or
#      by git am -3 when it does not apply as it is ("needed a refresh");
#   3. export the moved queue to build/rebase/patches and run the per-patch
#      checks on it (check-patches.sh, its builds under build/rebase/check).
# Reports, per patch, clean / refreshed / failed, then the checks' summary
# (NO_CHECKS=1: only the first two steps).
# Logs and results: build/runs/rebase/.
set -euo pipefail
export WB_CMD=${WB_CMD:-rebase}
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

version=${1:-}
[ -n "$version" ] || die "usage: make rebase VERSION=<a linux-source-6.12 version, e.g. 6.12.95-1~bpo12+1>"
[ -d "$TREE/.git" ] || die "no work tree: run 'make tree' (git am -3 takes the patches' objects from it)"
RB=$BUILD/rebase
rm -rf "$RESULTS" "$LOGS"
mkdir -p "$RESULTS" "$LOGS" "$RB/src"

say "rebase: fetching $BASE_PACKAGE $version (private apt configuration)"
fetch_base "$version" "$RB/src/x" || die "no base to rebase onto"
tarball=$FETCHED_TARBALL

say "rebase: build/rebase/linux = $BASE_PACKAGE $version + patches/ (git am, else git am -3)"
report=$LOGS/rebase-apply.txt
rc=0
FORCE=1 BUILD=$RB WB_BASE_TARBALL=$tarball WB_BASE_VERSION=$version WB_AM3=$report \
	"$TOP/scripts/tree.sh" >"$LOGS/tree.log" 2>&1 || rc=$?
refreshed=$(grep -c '^refreshed ' "$report" || true)
failed=$(grep '^failed ' "$report" | cut -d' ' -f2 || true)
: >"$RESULTS/rebase.txt"
add() { python3 "$TOP/scripts/results.py" add "$RESULTS/rebase.txt" "$@"; }
while read -r how patch; do
	case "$how" in
	clean) add PASS "rebase:apply.$patch" ;;
	refreshed) add FAIL "rebase:apply.$patch" "needs a refresh: applies only with git am -3" ;;
	esac
done <"$report"
[ -z "$failed" ] || add FAIL "rebase:apply.$failed" "does not apply, even with git am -3; see $LOGS/tree.log"
say "rebase: $(grep -c '^clean ' "$report" || true) patch(es) applied as they are, $refreshed needed a refresh${failed:+, $failed does not apply}"
grep -E '^(refreshed|failed) ' "$report" | sed 's/^/    /' || true

if [ "$rc" -eq 0 ] && [ -n "${NO_CHECKS:-}" ]; then
	BUILD=$RB "$TOP/scripts/export.sh" "$RB/patches" >/dev/null
	say "rebase: the moved queue is in $RB/patches; per-patch checks not run (NO_CHECKS)"
elif [ "$rc" -eq 0 ]; then
	BUILD=$RB "$TOP/scripts/export.sh" "$RB/patches" >/dev/null
	say "rebase: the moved queue is in $RB/patches; per-patch checks on $version"
	BUILD=$RB SERIES_DIR=$RB/patches RES=$RESULTS/patches.txt \
		"$TOP/scripts/check-patches.sh" || true
	say "rebase: to adopt it, copy $RB/patches/*.patch and series over patches/ (review the refreshed ones first)"
else
	add FAIL rebase:checks "not run: the series does not apply on $version"
fi
BUILD=$RB "$TOP/scripts/summary.sh"
