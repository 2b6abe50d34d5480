#!/usr/bin/env bash
# Regenerate patches/ (or the directory given) from base..HEAD of build/linux. The output depends only
# on the commits: zero commit ids, a fixed signature, and the cover letter
# dated like the newest patch, so an unchanged queue exports with no diff.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

[ -d "$TREE/.git" ] || die "no work tree: run 'make tree' first"
git -C "$TREE" rev-parse -q --verify base >/dev/null || die "$TREE has no tag 'base'"
# Part of a series (a git am that stopped) must never replace patches/.
if [ -d "$TREE/.git/rebase-apply" ] || [ ! -f "$TREE_STAMP" ]; then
	die "$TREE was left unfinished by make tree (git am stopped?): finish or abort the git am first"
fi
if [ -n "$(git -C "$TREE" status --porcelain)" ]; then
	warn "$TREE has uncommitted changes; they are not exported"
fi

out=${1:-$TOP/patches}
n=$(git -C "$TREE" rev-list --count base..HEAD)
rm -f "$out"/*.patch
mkdir -p "$out"
if [ "$n" -eq 0 ]; then
	printf '# The series is empty.\n' >"$out/series"
	say "export: empty series"
	exit 0
fi

# The cover letter's subject and text come from cover-letter.txt (first
# line: subject; then a blank line and the body).
branch=$(git -C "$TREE" symbolic-ref --short HEAD)
git -C "$TREE" config "branch.$branch.description" "$(cat "$TOP/cover-letter.txt")"
GIT_COMMITTER_DATE=$(git -C "$TREE" log -1 --format=%aD HEAD) \
git -C "$TREE" format-patch -q --zero-commit --cover-letter \
	--cover-from-description=subject --signature=smmuv3-nesting \
	--no-numbered-files -o "$out" base..HEAD >/dev/null
git -C "$TREE" config --unset "branch.$branch.description"

# git am takes the patches in this order; the cover letter is not applied.
for f in "$out"/[0-9][0-9][0-9][0-9]-*.patch; do
	f=${f##*/}
	if [ "${f#0000-}" = "$f" ]; then printf '%s\n' "$f"; fi
done >"$out/series"
# build/linux and patches/ are in sync now: make tree's stamp says so.
if [ "$out" = "$TOP/patches" ] && [ -n "$(sed -n 3p "$TREE_STAMP")" ]; then
	{
		sed -n 1,2p "$TREE_STAMP"
		patches_hash "$out"
		git -C "$TREE" rev-parse HEAD
	} >"$TREE_STAMP.new" && mv "$TREE_STAMP.new" "$TREE_STAMP"
fi
say "export: $n patches in $out"
