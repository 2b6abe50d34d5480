# shellcheck shell=bash
# Common helpers for the workbench scripts. Sourced, not run.

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD:-$TOP/build}
TREE=$BUILD/linux
# Written by make tree once the whole series is applied.
TREE_STAMP=$TREE/.git/workbench-base
LOGS=$BUILD/logs
export TOP BUILD TREE TREE_STAMP LOGS

# shellcheck source=../BASE
. "$TOP/BASE"

ARCH=arm64
CROSS_COMPILE=aarch64-linux-gnu-
export ARCH CROSS_COMPILE

JOBS=${JOBS:-$(nproc)}

# ccache for every kernel build. With O= the compiler sees absolute source
# paths; CCACHE_BASEDIR makes them relative, and every build directory sits
# two levels below its source tree's parent (build/out/test -> ../../linux,
# build/check/out/test -> ../../linux), so the per-patch checker's build of
# the same sources hits the cache of the test build.
export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/ccache}
export CCACHE_BASEDIR=$BUILD
export KBUILD_BUILD_TIMESTAMP="2000-01-01" KBUILD_BUILD_USER=workbench
export KBUILD_BUILD_HOST=workbench

# kmake SRC OUT ARGS...: make in kernel source SRC, output in OUT, arm64.
kmake() {
	local src=$1 out=$2
	shift 2
	make -C "$src" O="$out" ARCH="$ARCH" CROSS_COMPILE="$CROSS_COMPILE" \
		CC="ccache ${CROSS_COMPILE}gcc" -j"$JOBS" "$@"
}

# worktree_at DIR REV: DIR is a worktree of build/linux, clean, at REV;
# an existing one is reset (cheap: only files that differ are rewritten,
# which keeps incremental builds in it incremental).
worktree_at() {
	local dir=$1 rev=$2
	# Only a directory that is itself a worktree's top: git -C on any other
	# one would find an enclosing repo (this project's) and reset that.
	if [ "$(git -C "$dir" rev-parse --show-toplevel 2>/dev/null)" = "$dir" ]; then
		git -C "$dir" am --abort >/dev/null 2>&1 || true
		git -C "$dir" reset -q --hard "$rev"
		git -C "$dir" clean -qfdx
	else
		rm -rf "$dir"
		mkdir -p "$(dirname "$dir")"
		git -C "$TREE" worktree prune
		git -C "$TREE" worktree add -q --detach "$dir" "$rev"
	fi
}

say() { printf '==> %s\n' "$*"; }
warn() { printf 'WARNING: %s\n' "$*" >&2; }
die() { printf 'ERROR: %s\n' "$*" >&2; exit 1; }

# run_logged NAME CMD...: run CMD with its output in $LOGS/NAME.log, saying
# every minute that it is still at work; on failure name the step and the
# log, and show its tail.
run_logged() {
	local name=$1 log pid rc=0 ticks=0
	shift
	mkdir -p "$LOGS"
	log=$LOGS/$name.log
	"$@" >"$log" 2>&1 &
	pid=$!
	while ! wait_for "$pid" 60; do
		ticks=$((ticks + 1))
		printf '    ... %s: %d min, %s\n' "$name" "$ticks" \
			"$(tail -n 1 "$log" | cut -c1-70)"
	done
	wait "$pid" || rc=$?
	if [ "$rc" -ne 0 ]; then
		printf 'FAILED: step "%s"; log: %s\n' "$name" "$log" >&2
		tail -n 30 "$log" >&2
		return 1
	fi
}

# wait_for PID SECONDS: true once PID has exited, false after SECONDS.
wait_for() {
	timeout "$2" tail --pid="$1" -f /dev/null 2>/dev/null
}
