#!/usr/bin/env bash
# Unpack the base into build/linux as a git repo (tag "base") and apply
# patches/ on it with git am, one commit per patch.
#
# Never destroys work. make tree records in build/linux's stamp what it was
# made from (the base tarball's sha256 and version, a hash of patches/ and
# the commit it left); then:
# - build/linux unchanged, patches/ unchanged: kept as it is (no rebuild);
# - build/linux unchanged, patches/ changed (a git pull): made again from
#   patches/ (nothing is lost);
# - build/linux has work (new commits, uncommitted changes) and patches/ is
#   unchanged: refuses, and says to 'make export' first;
# - both changed: refuses, and says how to carry the work over (exporting
#   would overwrite the new patches/).
# FORCE=1 discards build/linux's work. With --check-only it only checks
# (for make distclean).
# For make rebase: BASE_TARBALL and WB_BASE_VERSION may name another base;
# with WB_AM3=FILE a patch that git am cannot apply is tried with git am -3
# (the objects of build/linux's series fetched first), and FILE gets one
# line per patch: "clean", "refreshed" (needed the 3-way merge) or "failed".
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

stamp=$TREE_STAMP
WB_BASE_VERSION=${WB_BASE_VERSION:-}

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
	local made_patches made_head dirty=0 ahead patches_new=0 tmp
	made_patches=$(sed -n 3p "$stamp")
	made_head=$(sed -n 4p "$stamp")
	[ -n "$(git -C "$TREE" status --porcelain)" ] && dirty=1
	ahead=0
	if [ -n "$made_head" ]; then
		[ "$(git -C "$TREE" rev-parse HEAD)" = "$made_head" ] || ahead=1
		[ "$(patches_hash "$TOP/patches")" = "$made_patches" ] || patches_new=1
	else
		# A stamp of an older workbench: compare an export with patches/
		tmp=$(mktemp -d)
		if ! "$TOP/scripts/export.sh" "$tmp" >/dev/null 2>&1 ||
		   ! diff -rq "$tmp" "$TOP/patches" >/dev/null; then
			ahead=1
		fi
		rm -rf "$tmp"
	fi
	local work=
	[ "$dirty" -eq 1 ] && work="uncommitted changes"
	[ "$ahead" -eq 1 ] && work="${work:+$work and }commits that are not in patches/ (HEAD moved since make tree)"
	if [ -z "$work" ]; then
		[ "$patches_new" -eq 1 ] &&
			say "tree: patches/ is newer than $TREE (changed since make tree, e.g. by a git pull) and $TREE has no work of its own: making it again from patches/"
		return 0
	fi
	if [ "$patches_new" -eq 0 ]; then
		die "$TREE is newer than patches/: it has $work. Save it first: commit, then 'make export' and commit patches/ (or set FORCE=1 to discard it)"
	fi
	die "both sides changed: $TREE has $work, and patches/ changed since make tree (a git pull?). 'make export' now would overwrite the new patches/. Carry your work over instead: commit it, 'git -C $TREE format-patch -o /tmp/mywork \$(sed -n 4p $stamp)..HEAD', then 'FORCE=1 make tree', 'git -C $TREE am -3 /tmp/mywork/*.patch', and 'make export' (FORCE=1 alone discards your work)"
}

check_exported
[ "${1:-}" = --check-only ] && exit 0

if [ -d "$TREE/.git" ]; then
	# An older workbench's stamp (the sha256 alone) of a tree that exports
	# as patches/ (check_exported said so): record the rest.
	if [ -z "${FORCE:-}" ] && [ -f "$stamp" ] && [ -z "$(sed -n 3p "$stamp")" ]; then
		printf '%s\n%s\n%s\n%s\n' "$(sed -n 1p "$stamp")" \
			"$(git -C "$TREE" log -1 --format=%s base | sed -n "s/^base: $BASE_PACKAGE //p")" \
			"$(patches_hash "$TOP/patches")" "$(git -C "$TREE" rev-parse HEAD)" >"$stamp"
	fi
	if [ -z "${FORCE:-}" ] && [ -f "$stamp" ]; then
		if [ "$(sed -n 1p "$stamp")" = "$(sha256sum "$BASE_TARBALL" 2>/dev/null | cut -d' ' -f1)" ] &&
		   [ "$(sed -n 3p "$stamp")" = "$(patches_hash "$TOP/patches")" ]; then
			say "tree: $TREE is in sync with patches/ ($(series_files | wc -l) patches, base $(sed -n 2p "$stamp"))"
			exit 0
		fi
	fi
	say "tree: removing $TREE"
	rm -rf "$TREE"
fi

[ -r "$BASE_TARBALL" ] || die "$BASE_TARBALL missing: run 'make setup'"
have=$(sha256sum "$BASE_TARBALL" | cut -d' ' -f1)
version=${WB_BASE_VERSION:-$(dpkg-query -W -f='${Version}' "$BASE_PACKAGE" 2>/dev/null || true)}
if [ "$have" != "$BASE_SHA256" ]; then
	if [ "$version" = "$BASE_VERSION" ]; then
		die "$BASE_TARBALL does not match BASE_SHA256 for $BASE_VERSION (corrupt download?)"
	fi
	warn "the base is $BASE_PACKAGE $version, not the pinned $BASE_VERSION"
fi

say "tree: unpacking $BASE_TARBALL"
mkdir -p "$BUILD"
tmp=$(mktemp -d "$BUILD/unpack.XXXXXX")
# -m: every file dated now, not as in the tarball. Build outputs of an
# earlier tree (another base) are then older than every source and header,
# and make rebuilds them all (ccache serves what did not change); with the
# tarball's dates a header that changed between two bases can be older than
# the objects built from the earlier one, which make would keep.
tar -xmf "$BASE_TARBALL" -C "$tmp"
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
git -C "$TREE" commit -q -m "base: $BASE_PACKAGE $version" -m \
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
if [ -n "${WB_AM3:-}" ]; then
	: >"$WB_AM3"
	# The blobs the patches' index lines name, for git am -3
	git -C "$TREE" fetch -q "$TOP/build/linux" "+refs/heads/*:refs/remotes/queue/*" 2>/dev/null ||
		warn "no objects of build/linux's series: git am -3 cannot merge"
fi
for f in "${files[@]}"; do
	if git -C "$TREE" am -q --keep-non-patch "$TOP/patches/$f" >/dev/null 2>&1; then
		[ -n "${WB_AM3:-}" ] && echo "clean $f" >>"$WB_AM3"
		continue
	fi
	[ -n "${WB_AM3:-}" ] || die "patch $f does not apply (git am); see 'git -C $TREE am --show-current-patch'"
	git -C "$TREE" am --abort
	if git -C "$TREE" am -q -3 --keep-non-patch "$TOP/patches/$f"; then
		echo "refreshed $f" >>"$WB_AM3"
	else
		echo "failed $f" >>"$WB_AM3"
		die "patch $f does not apply, even with git am -3; see 'git -C $TREE am --show-current-patch'"
	fi
done
printf '%s\n%s\n%s\n%s\n' "$have" "$version" "$(patches_hash "$TOP/patches")" \
	"$(git -C "$TREE" rev-parse HEAD)" >"$stamp"
say "tree: $TREE = base ($BASE_PACKAGE $version) + ${#files[@]} patches"
