#!/usr/bin/env bash
# Does Debian serve a newer 6.12.y than the pinned base (BASE)? A warning,
# never a failure: a newer release is news for the queue, not a bug in it.
#   drift.sh [--strict]
# 1. The versions of linux-source-6.12 every suite of bookworm and trixie
#    serves (lib.sh's BASE_SUITES; scripts/debian.py versions, whose
#    private apt lists are updated once a day: when nothing is newer this
#    is all it costs).
# 2. Nothing newer than BASE_VERSION: one line saying so.
# 3. A newer one: its .deb (kept in $WB_CACHE/debs), its tarball unpacked in
#    build/drift/ and the queue applied on it as make rebase does (tree.sh:
#    git am, else git am -3), then a warning: which release, whether the
#    queue applies (if not: the patch that fails and where), and the
#    make rebase command that moves the base. The verdict on a release is
#    kept (build/drift/verdict-VERSION-QUEUEHASH.txt), the tree is not: a
#    second run neither downloads nor applies anything.
# A build of a release for an older Debian ("6.12.118-1~deb12u1", bookworm's
# build of trixie's 6.12.118-1; "~bpo12+1" likewise) has that release's
# sources: builds of one release for two Debians are not newer than each
# other, while within one Debian the version decides (~deb12u2 > ~deb12u1).
# Every line meant for the caller goes to stdout and starts with "DRIFT:";
# progress goes to stderr, the details to $LOGS/drift-*.log.
# Exit status 0, whatever was found and even when nothing could be checked
# (no network: a warning too). With --strict: 1 when a newer release is
# served, 2 when it could not be checked.
# Environment: WB_DRIFT_PIN (default BASE_VERSION), the version to compare
# with: an older one exercises the newer-release path; DEBPKG_MIRROR
# (scripts/debian.py), another mirror.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

strict=0
case "${1:-}" in
'') ;;
--strict) strict=1 ;;
*) die "usage: drift.sh [--strict]" ;;
esac
pin=${WB_DRIFT_PIN:-$BASE_VERSION}
pinned_by=BASE
[ -z "${WB_DRIFT_PIN:-}" ] || pinned_by=WB_DRIFT_PIN
DRIFT=$BUILD/drift
alog=$LOGS/drift-apt.log
tlog=$LOGS/drift-tree.log
mkdir -p "$DRIFT" "$LOGS"

# unchecked WHY: the warning for a check that could not be made
unchecked() {
	echo "DRIFT: WARNING: could not check whether Debian serves a newer $BASE_PACKAGE than the pinned $pin: $1"
	[ "$strict" -eq 1 ] && exit 2
	exit 0
}

# release_of VERSION: the release a build was made from (see above)
release_of() { sed -E 's/~(deb[0-9]+u[0-9]+|bpo[0-9]+\+[0-9]+)$//' <<<"$1"; }
gt() { dpkg --compare-versions "$1" gt "$2"; }

served=$(DEBPKG_SUITE=$BASE_SUITES python3 "$TOP/scripts/debian.py" versions "$BASE_PACKAGE" arm64 2>"$alog") ||
	unchecked "$(grep -E '^(ERROR|E):' "$alog" | tail -n 1) (no network? log: $alog)"
stale=$(sed -n 's/^WARNING: apt-get update .* failed: using the package lists of //p' "$alog")
[ -z "$stale" ] ||
	echo "DRIFT: WARNING: Debian's package lists could not be updated (no network?): what follows is as of $stale"

# The Debian of the pin's build (bookworm), as the suite serving it says
pin_deb=$(awk -v v="$pin" '$1 == v {sub(/-.*/, "", $2); print $2; exit}' <<<"$served")
same_deb() { [ -n "$pin_deb" ] && [ "${1%%-*}" = "$pin_deb" ]; }

# newer VERSION SUITE: a newer release than the pin's, or a newer build of
# it for the pin's Debian
newer() {
	if same_deb "$2"; then
		gt "$1" "$pin"
	else
		gt "$(release_of "$1")" "$(release_of "$pin")"
	fi
}

# better V S BEST BEST_SUITE: V of S is a newer release than BEST, or the same
# release built for the pin's Debian (what setup installs and rebase fetches
# alike), or a newer build of the same release
better() {
	local r b
	r=$(release_of "$1") b=$(release_of "$3")
	gt "$r" "$b" && return 0
	gt "$b" "$r" && return 1
	if same_deb "$2" && ! same_deb "$4"; then return 0; fi
	if same_deb "$4" && ! same_deb "$2"; then return 1; fi
	gt "$1" "$3"
}

best='' best_suite='' top=$pin
while read -r v s; do
	gt "$v" "$top" && top=$v
	newer "$v" "$s" || continue
	if [ -z "$best" ] || better "$v" "$s" "$best" "$best_suite"; then
		best=$v best_suite=$s
	fi
done <<<"$served"

if [ -z "$best" ]; then
	note=
	[ "$top" = "$pin" ] || note="; $top is the same release built for another Debian"
	echo "DRIFT: none: the pinned $BASE_PACKAGE $pin is the newest release Debian serves (bookworm, trixie)$note"
	exit 0
fi

# A newer release: does the queue apply to it?
mapfile -t series < <(grep -v '^[[:space:]]*\(#\|$\)' "$TOP/patches/series")
verdict=$DRIFT/verdict-$best-$(patches_hash "$TOP/patches").txt

# apply_queue: the verdict on the queue applied to $best, in $verdict; false,
# with the reason in $why, when there is none (no download...). Called in a
# condition, where set -e is off: every step is checked.
apply_queue() {
	local report=$LOGS/drift-apply.txt rc=0 failed where w refreshed
	say "drift: $BASE_PACKAGE $best is newer than the pin: applying the queue to it in $DRIFT (log: $tlog)" >&2
	rm -rf "$DRIFT/src" "$DRIFT/linux" "$DRIFT"/unpack.*
	: >"$tlog"
	if ! fetch_base "$best" "$DRIFT/src" 2>>"$tlog"; then
		why="$BASE_PACKAGE $best could not be fetched (no network? log: $tlog)"
		return 1
	fi
	FORCE=1 BUILD=$DRIFT WB_BASE_TARBALL=$FETCHED_TARBALL WB_BASE_VERSION=$best WB_AM3=$report \
		"$TOP/scripts/tree.sh" >>"$tlog" 2>&1 || rc=$?
	failed=$(sed -n 's/^failed //p' "$report")
	mapfile -t refreshed < <(sed -n 's/^refreshed //p' "$report")
	{
		if [ -n "$failed" ]; then
			# Where: the failed patch alone on the tree before it
			git -C "$DRIFT/linux" am --abort >/dev/null 2>&1
			where=$(git -C "$DRIFT/linux" apply --check "$TOP/patches/$failed" 2>&1 | sed -nE \
				-e 's/^error: patch failed: (.*)$/\1 (the context differs)/p' \
				-e 's/^error: (.*): (does not exist in index|No such file or directory)$/\1 (no such file)/p' \
				-e 's/^error: (.*): already exists in working directory$/\1 (exists already)/p')
			# git apply has nothing to say when only git am failed: the files it touches
			[ -n "$where" ] || where=$(sed -n 's#^+++ b/\(.*\)#\1 (one of the files it changes)#p' "$TOP/patches/$failed")
			echo "DRIFT: the queue does NOT apply to $best: $failed fails (git am, and git am -3), after $(grep -c '^\(clean\|refreshed\) ' "$report") of ${#series[@]} patches that apply; it fails in:"
			while read -r w; do echo "DRIFT:     $w"; done <<<"$where"
		elif [ "$rc" -eq 0 ] && [ "${#refreshed[@]}" -gt 0 ]; then
			echo "DRIFT: the queue applies to $best, but ${#refreshed[@]} of its ${#series[@]} patches only by a 3-way merge (git am -3): they need a refresh: ${refreshed[*]}"
		elif [ "$rc" -eq 0 ]; then
			echo "DRIFT: the queue applies to $best as it is (its ${#series[@]} patches, git am)"
		fi
		# else tree.sh failed, but no patch did: no verdict (an empty file)
	} >"$verdict.new"
	# The tree was only for this verdict (and is 2 GB)
	rm -rf "$DRIFT/src" "$DRIFT/linux"
	if [ ! -s "$verdict.new" ]; then
		why="tree.sh failed before any patch did (log: $tlog)"
		return 1
	fi
	mv "$verdict.new" "$verdict"
}

echo "DRIFT: WARNING: Debian serves $BASE_PACKAGE $best ($best_suite), a newer release than the pinned $pin ($pinned_by)"
why=
if [ -s "$verdict" ] || apply_queue; then
	cat "$verdict"
else
	echo "DRIFT: could not tell whether the queue applies to it: $why"
fi
echo "DRIFT: to move the base: make rebase VERSION=$best (every patch applied and checked there, in build/rebase/; a patch that fails is refreshed there), then pin it in BASE"
[ "$strict" -eq 1 ] && exit 1
exit 0
