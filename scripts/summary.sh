#!/usr/bin/env bash
# The summary of a command's results ($RESULTS/*.txt, scripts/results.py):
# counts per file, each failure, how to replay a failed guest case, and as
# the last line "N passed, N failed, N skipped". Exits non-zero if anything
# failed.
#   summary.sh [ELAPSED]
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

[ "$BASE_USED_VERSION" = "$BASE_VERSION" ] ||
	warn "the base is $BASE_USED_VERSION, not the pinned $BASE_VERSION"
BASE_PACKAGE=$BASE_PACKAGE python3 "$TOP/scripts/results.py" summary "$@"
