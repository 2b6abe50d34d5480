# shellcheck shell=bash
# Common helpers for the workbench scripts. Sourced, not run.

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD:-$TOP/build}
TREE=$BUILD/linux
# Written by make tree once the whole series is applied.
TREE_STAMP=$TREE/.git/workbench-base
# Each command keeps its logs and results in a directory of its own
# (build/runs/check, build/runs/demo...): one run never overwrites
# another's. A script run by another one inherits its RUNDIR.
RUNDIR=${RUNDIR:-$BUILD/runs/${WB_CMD:-$(basename "$0" .sh)}}
LOGS=$RUNDIR/logs
RESULTS=$RUNDIR/results
export TOP BUILD TREE TREE_STAMP RUNDIR LOGS RESULTS

# shellcheck source=../BASE
. "$TOP/BASE"
# make rebase builds its tree from another base tarball
BASE_TARBALL=${WB_BASE_TARBALL:-$BASE_TARBALL}

ARCH=arm64
CROSS_COMPILE=aarch64-linux-gnu-
export ARCH CROSS_COMPILE

JOBS=${JOBS:-$(nproc)}

# ccache for every kernel build. With O= the compiler sees absolute source
# paths; CCACHE_BASEDIR makes them relative, and every build directory sits
# two levels below its source tree's parent (build/out/test -> ../../linux,
# build/check/out/test -> ../../linux), so the per-patch checker's build of
# the same sources hits the cache of the test build.
# The ccache is the workbench's own (never the user's ~/.cache/ccache, whose
# size limit is theirs): WB_CACHE/ccache, limited by WB_CCACHE_SIZE.
WB_CACHE=${WB_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/smmuv3-nesting}
export CCACHE_DIR=$WB_CACHE/ccache
export CCACHE_MAXSIZE=${WB_CCACHE_SIZE:-8G}
export WB_CACHE
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

# The base build/linux was made from, as make tree recorded it (its stamp:
# tarball sha256, then the package version); the pinned one before that.
# Caches of results on the base are keyed on BASE_USED_SHA256.
base_used() {
	BASE_USED_SHA256=$BASE_SHA256 BASE_USED_VERSION=$BASE_VERSION
	if [ -f "$TREE_STAMP" ]; then
		{ read -r BASE_USED_SHA256 && read -r BASE_USED_VERSION; } <"$TREE_STAMP" || true
	fi
	: "${BASE_USED_VERSION:=unknown}"
	export BASE_USED_SHA256 BASE_USED_VERSION
}
base_used

# The Debian releases whose suites serve linux-source-6.12 (DEBPKG_SUITE
# of scripts/debian.py): bookworm's -security and -backports, and trixie,
# whose newer builds of each release often come first.
BASE_SUITES=bookworm+trixie

# fetch_base VERSION DIR: BASE_PACKAGE VERSION's .deb (downloaded once into
# $WB_CACHE/debs by scripts/debian.py) unpacked into DIR, and the path of
# its tarball in FETCHED_TARBALL. Returns 1, having said why on stderr,
# when that version cannot be had.
fetch_base() {
	local version=$1 dir=$2 fetched
	mapfile -t fetched < <(DEBPKG_SUITE=$BASE_SUITES python3 "$TOP/scripts/debian.py" fetch \
		"$BASE_PACKAGE" arm64 "$version" "$WB_CACHE/debs")
	if [ "${#fetched[@]}" -ne 2 ]; then
		warn "could not fetch $BASE_PACKAGE $version"
		return 1
	elif [ "${fetched[1]}" != "$version" ]; then
		warn "$BASE_PACKAGE $version is not served (the newest is ${fetched[1]})"
		return 1
	fi
	rm -rf "$dir"
	dpkg-deb -x "${fetched[0]}" "$dir"
	FETCHED_TARBALL=$dir/usr/src/$BASE_PACKAGE.tar.xz
	[ -r "$FETCHED_TARBALL" ] || { warn "no $BASE_PACKAGE.tar.xz in ${fetched[0]}"; return 1; }
}

# patches_hash DIR: a hash of a series (DIR/series and the patches it names)
patches_hash() {
	local f
	mapfile -t f < <(grep -v '^[[:space:]]*\(#\|$\)' "$1/series" 2>/dev/null)
	(cd "$1" && cat series "${f[@]}" 2>/dev/null) | sha256sum | cut -d' ' -f1
}

# The cache of results in $WB_CACHE (coccinelle's findings by tree, the
# kselftests' builds, the per-patch verdicts...): an entry, a file or a
# directory, is named by a hash of everything that decides it, so that it
# is never stale, only unused; it is written whole (copied beside its place,
# then renamed), so that an interrupted run leaves none half-written.
cache_has() {	# cache_has NAME: the entry exists
	[ -e "$WB_CACHE/$1" ]
}
cache_put() {	# cache_put NAME PATH: a copy of PATH (file or directory) is entry NAME
	local tmp=$WB_CACHE/$1.tmp.$$
	mkdir -p "$(dirname "$tmp")"
	rm -rf "$tmp"
	if ! { cp -r "$2" "$tmp" && mv -T "$tmp" "$WB_CACHE/$1" 2>/dev/null; }; then
		rm -rf "$tmp" # a full disk, or another run wrote it first
	fi
}

# checker_inputs: a hash of what the per-patch checks' verdicts depend on
# besides the trees they check: the checker (check-patches.sh and what it
# sources or runs), the checkpatch exceptions, the config fragments its
# builds use (build.sh's for the test kernel, x86_64's), the pinned Debian
# config, and the compilers' and checkers' versions.
checker_inputs() {
	local t
	{
		(cd "$TOP" && sha256sum scripts/check-patches.sh scripts/lib.sh scripts/build.sh \
			scripts/debian.py scripts/checkpatch_checks.py scripts/results.py scripts/plan.py \
			configs/test.config configs/l1.config configs/x86_64.config)
		sha256sum <"${CHECKPATCH_EXCEPTIONS:-$TOP/configs/checkpatch-exceptions}"
		echo "$DISTRO_CONFIG_PACKAGE $DISTRO_CONFIG_VERSION $DISTRO_CONFIG_SHA256 $DISTRO_CONFIG_FILE"
		for t in "${CROSS_COMPILE}gcc" gcc "${CROSS_COMPILE}ld" ld sparse spatch; do
			"$t" --version 2>&1 | head -1
		done
	} | sha256sum | cut -c1-32
}

# l1_out: the three-level machine's L1 kernel build directory. L1_OUT if
# set; else make build's test kernel for the patched tree (L1_KSRC unset or
# build/linux); else build/three-level/out/l1 for another source tree (a clone at
# tag "base"), so that switching trees does not rebuild everything.
l1_out() {
	if [ -n "${L1_OUT:-}" ]; then
		echo "$L1_OUT"
	elif [ -n "${L1_KSRC:-}" ] && [ "$L1_KSRC" != "$TREE" ]; then
		echo "$BUILD/three-level/out/l1"
	else
		echo "$BUILD/out/test"
	fi
}

say() { printf '==> %s\n' "$*"; }
warn() { printf 'WARNING: %s\n' "$*" >&2; }
die() { printf 'ERROR: %s\n' "$*" >&2; exit 1; }

# Long steps (builds, apt, QEMU) run in the background, each in a session
# of its own (setsid), so that the whole of it can be signalled: a
# background command of a script ignores SIGINT, so Ctrl-C alone would
# leave it running. On INT, TERM or HUP every step still running gets TERM
# (its whole process group), then KILL after 10 s, and the script exits.
WB_BG=()

# bg_start CMD...: start CMD in its own session; its pid in BG_PID.
bg_start() {
	setsid "$@" &
	BG_PID=$!
	WB_BG+=("$BG_PID")
}

# bg_wait PID: wait for a step started by bg_start; its exit status.
bg_wait() {
	local rc=0 i
	wait "$1" || rc=$?
	for i in "${!WB_BG[@]}"; do
		[ "${WB_BG[$i]}" = "$1" ] && unset "WB_BG[$i]"
	done
	return "$rc"
}

wb_stop_steps() {
	local pid n
	[ "${#WB_BG[@]}" -gt 0 ] || return 0
	for pid in "${WB_BG[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || true; done
	for ((n = 0; n < 100; n++)); do
		for pid in "${WB_BG[@]}"; do
			kill -0 -- "-$pid" 2>/dev/null && break
			pid=
		done
		[ -z "$pid" ] && break
		wait_for "$pid" 0.1 || true
	done
	for pid in "${WB_BG[@]}"; do kill -KILL -- "-$pid" 2>/dev/null || true; done
	WB_BG=()
}

wb_interrupted() {
	trap - INT TERM HUP
	printf '\nERROR: interrupted (%s): stopping %d running step(s)\n' "$1" "${#WB_BG[@]}" >&2
	[ -n "${WB_WAITER:-}" ] && kill "$WB_WAITER" 2>/dev/null
	wb_stop_steps
	exit 130
}
trap 'wb_interrupted INT' INT
trap 'wb_interrupted TERM' TERM
trap 'wb_interrupted HUP' HUP

# One workbench command at a time in a build directory: the second one
# would race the first one's builds and boots. The lock is held by every
# process of the command (an inherited descriptor), so a step that somehow
# outlived its command keeps the next one out too, and says so.
if [ -z "${WB_LOCKED:-}" ]; then
	mkdir -p "$BUILD"
	exec 9>>"$BUILD/.lock"
	if ! flock -n 9; then
		printf 'ERROR: another workbench command is running in %s (holding %s):\n' \
			"$BUILD" "$BUILD/.lock" >&2
		holders=$(fuser "$BUILD/.lock" 2>/dev/null | tr -s " " "\n" | grep -vx "$$" | xargs) || true
		[ -n "$holders" ] && ps -o pid,etime,args -p "${holders// /,}" 2>/dev/null |
			cut -c1-150 | sed 's/^/    /' >&2
		exit 1
	fi
	export WB_LOCKED=$$
fi

# run_logged NAME CMD...: run CMD with its output in $LOGS/NAME.log, saying
# every minute that it is still at work; on failure name the step and the
# log, and show its tail.
run_logged() {
	local name=$1 log pid rc=0 ticks=0
	shift
	mkdir -p "$LOGS"
	log=$LOGS/$name.log
	bg_start "$@" >"$log" 2>&1 </dev/null
	pid=$BG_PID
	while ! wait_for "$pid" 60; do
		ticks=$((ticks + 1))
		printf '    ... %s: %d min, %s\n' "$name" "$ticks" \
			"$(tail -n 1 "$log" | cut -c1-70)"
	done
	bg_wait "$pid" || rc=$?
	if [ "$rc" -ne 0 ]; then
		printf 'FAILED: step "%s"; log: %s\n' "$name" "$log" >&2
		tail -n 30 "$log" >&2
		return 1
	fi
}

# wait_for PID SECONDS: true once PID has exited, false after SECONDS. It
# waits with the wait builtin, which a signal interrupts (its trap runs).
wait_for() {
	local w
	timeout "$2" tail --pid="$1" -f /dev/null 2>/dev/null &
	w=$!
	WB_WAITER=$w
	wait "$w"
}
