#!/usr/bin/env bash
# Unpack the pinned base into build/linux as a git repo (tag "base") and
# apply patches/ on it with git am, one commit per patch.
#
# Refuses to destroy work: if build/linux has uncommitted changes, or commits
# whose patches differ from patches/, it stops (FORCE=1 overrides). A tree
# already in sync with patches/ is kept as it is (no needless rebuilds).
# With --check-only it only does that check (for make distclean).
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

stamp=$TREE_STAMP

series_files() {
	[ -f "$TOP/patches/series" ] || return 0
	grep -v '^[[:space:]]*\(#\|$\)' "$TOP/patches/series"
}

# Stop unless removing build/linux loses nothing that patches/ lacks.
check_exported() {
	[ -d "$TREE/.git" ] && [ -z "${FORCE:-}" ] || return 0
	# A tree that make tree did not finish (a patch did not apply) holds
	# part of the series: exporting it would lose the rest.
	if [ -d "$TREE/.git/rebase-apply" ] || [ ! -f "$stamp" ]; then
		die "$TREE was left unfinished by make tree (a patch of patches/ did not apply?); do not export it: finish or abort the git am there, or set FORCE=1 to start again"
	fi
	if [ -n "$(git -C "$TREE" status --porcelain)" ]; then
		die "$TREE has uncommitted changes; commit them and 'make export', or set FORCE=1 to discard them"
	fi
	# Exporting the tree must give patches/ exactly: commits, messages and
	# the cover letter.
	local tmp
	tmp=$(mktemp -d)
	if ! "$TOP/scripts/export.sh" "$tmp" >/dev/null 2>&1 ||
	   ! diff -rq "$tmp" "$TOP/patches" >/dev/null; then
		rm -rf "$tmp"
		die "$TREE has commits that differ from patches/; 'make export' first, or set FORCE=1 to discard them"
	fi
	rm -rf "$tmp"
}

check_exported
[ "${1:-}" = --check-only ] && exit 0

if [ -d "$TREE/.git" ]; then
	if [ -z "${FORCE:-}" ]; then
		if [ "$(cat "$stamp" 2>/dev/null)" = "$BASE_SHA256" ]; then
			say "tree: $TREE is in sync with patches/ ($(series_files | wc -l) patches)"
			exit 0
		fi
	fi
	say "tree: removing $TREE"
	rm -rf "$TREE"
fi

[ -r "$BASE_TARBALL" ] || die "$BASE_TARBALL missing: run 'make setup'"
have=$(sha256sum "$BASE_TARBALL" | cut -d' ' -f1)
if [ "$have" != "$BASE_SHA256" ]; then
	installed=$(dpkg-query -W -f='${Version}' "$BASE_PACKAGE" 2>/dev/null || true)
	if [ "$installed" = "$BASE_VERSION" ]; then
		die "$BASE_TARBALL does not match BASE_SHA256 for $BASE_VERSION (corrupt download?)"
	fi
	warn "the base tarball is $BASE_PACKAGE $installed, not the pinned $BASE_VERSION"
fi

say "tree: unpacking $BASE_TARBALL"
mkdir -p "$BUILD"
tmp=$(mktemp -d "$BUILD/unpack.XXXXXX")
tar -xf "$BASE_TARBALL" -C "$tmp"
mv "$tmp"/linux-source-6.12 "$TREE"
rmdir "$tmp"

export GIT_AUTHOR_NAME="workbench" GIT_AUTHOR_EMAIL="workbench@localhost"
export GIT_COMMITTER_NAME="workbench" GIT_COMMITTER_EMAIL="workbench@localhost"
export GIT_AUTHOR_DATE="2000-01-01T00:00:00Z" GIT_COMMITTER_DATE="2000-01-01T00:00:00Z"
git -C "$TREE" init -q -b main
git -C "$TREE" config core.autocrlf false
git -C "$TREE" config gc.auto 0
# Debian's .gitignore ends with a stanza for its packaging repo that ignores
# everything at the top level ("/*"); without it, new files of a patch would
# be invisible to git. Drop that stanza only, and check nothing else is lost.
sed -i '/^# Debian packaging: ignore everything/,/^!\/debian\/$/d' "$TREE/.gitignore"
sed -i '$ {/^#$/d}' "$TREE/.gitignore"
git -C "$TREE" add -A -f
nfiles=$(tar -tf "$BASE_TARBALL" | grep -vc '/$')
ntracked=$(git -C "$TREE" ls-files | wc -l)
[ "$nfiles" -eq "$ntracked" ] ||
	die "base commit holds $ntracked files, the tarball $nfiles"
git -C "$TREE" commit -q -m "base: $BASE_PACKAGE $BASE_VERSION" -m \
	"Without the Debian packaging stanza of the top-level .gitignore."
git -C "$TREE" tag base
unset GIT_AUTHOR_NAME GIT_AUTHOR_EMAIL GIT_COMMITTER_NAME GIT_COMMITTER_EMAIL
unset GIT_AUTHOR_DATE GIT_COMMITTER_DATE

# git am needs a committer; keep the developer's own identity if configured.
if ! git -C "$TREE" config user.email >/dev/null; then
	git -C "$TREE" config user.name "workbench"
	git -C "$TREE" config user.email "workbench@localhost"
fi

mapfile -t files < <(series_files)
for f in "${files[@]}"; do
	git -C "$TREE" am -q --keep-non-patch "$TOP/patches/$f" ||
		die "patch $f does not apply (git am); see 'git -C $TREE am --show-current-patch'"
done
printf '%s\n' "$BASE_SHA256" >"$stamp"
say "tree: $TREE = base + ${#files[@]} patches"
