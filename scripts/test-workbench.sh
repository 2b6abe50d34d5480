#!/usr/bin/env bash
# make test-workbench: the workbench's own tests, on any machine, from a
# fresh clone, without setup, the patched tree or the network, in well under
# a minute: the host unit tests (tests/test_*.py, on the fixtures of
# tests/data/), shellcheck on every shell script and pyflakes on every
# Python one. One result line each (scripts/results.py) in
# $RESULTS/workbench.txt (build/runs/test-workbench/ when run alone; make
# check runs it first, into its own results). Exits non-zero on a failure.
# The linters are Debian's (packages shellcheck, pyflakes3); missing, they
# are installed when we are root, else their check fails saying so.
set -euo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
RUNDIR=${RUNDIR:-$TOP/build/runs/test-workbench}
RESULTS=${RESULTS:-$RUNDIR/results}
LOGS=${LOGS:-$RUNDIR/logs}
mkdir -p "$RESULTS" "$LOGS"
res=$RESULTS/workbench.txt
add() { python3 "$TOP/scripts/results.py" add "$res" "$@"; }

# tool COMMAND PACKAGE: COMMAND is there, or is installed from PACKAGE
tool() {
	command -v "$1" >/dev/null && return 0
	[ "$(id -u)" = 0 ] && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$2" \
		>"$LOGS/install-$2.log" 2>&1 && command -v "$1" >/dev/null
}

start=$(date +%s.%N)
python3 "$TOP/scripts/results.py" unittest workbench "$TOP/tests" "$LOGS/unittest.log" >"$res"

cd "$TOP"
mapfile -t sh < <(git ls-files '*.sh' .ci/run 2>/dev/null || ls scripts/*.sh guest/*/*.sh .ci/run)
if ! tool shellcheck shellcheck; then
	add FAIL workbench:shellcheck "shellcheck is not installed (apt-get install shellcheck)"
elif shellcheck -x "${sh[@]}" >"$LOGS/shellcheck.log" 2>&1; then
	add PASS workbench:shellcheck "${#sh[@]} scripts"
else
	add FAIL workbench:shellcheck "$(grep -c '^In ' "$LOGS/shellcheck.log") finding(s); see $LOGS/shellcheck.log"
fi
mapfile -t py < <(git ls-files '*.py' 2>/dev/null || ls scripts/*.py tests/*.py)
if ! tool pyflakes3 pyflakes3; then
	add FAIL workbench:pyflakes "pyflakes3 is not installed (apt-get install pyflakes3)"
elif pyflakes3 "${py[@]}" >"$LOGS/pyflakes.log" 2>&1; then
	add PASS workbench:pyflakes "${#py[@]} files"
else
	add FAIL workbench:pyflakes "$(wc -l <"$LOGS/pyflakes.log") finding(s): $(head -1 "$LOGS/pyflakes.log")"
fi
secs=$(python3 -c "import time; print(round(time.time() - $start, 1))")
echo "==> the workbench's own tests, ${secs}s (results $res, logs $LOGS):"
python3 "$TOP/scripts/results.py" brief "$res"
