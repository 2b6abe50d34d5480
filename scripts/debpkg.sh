#!/usr/bin/env bash
# Fetch one Debian package's .deb with a private apt configuration, never
# touching the host's dpkg architectures or apt sources:
#   debpkg.sh NAME ARCH VERSION DESTDIR [SHA256]
#   debpkg.sh --versions NAME ARCH
# VERSION: an exact version, or "newest". With SHA256 the .deb must match
# it; if that version is not served any more the newest one is taken, with
# a warning on stderr. Prints the path of the .deb, then its version. A .deb
# of that version already in DESTDIR is not downloaded again (apt-get
# download keeps a file whose hashes are the index's).
# --versions: every version of NAME served, one "VERSION SUITE" line each
# (a version in two suites has two lines), newest first.
# DEBPKG_SUITE: the Debian releases to look in, '+' between two: bookworm
# (the default: bookworm, -updates, -security and -backports), trixie (the
# same four of trixie), unstable. DEBPKG_MIRROR: the mirror (default
# http://deb.debian.org; its debian/ and debian-security/).
# The private apt state lives in $WB_CACHE/apt-ARCH (apt-ARCH-SUITE for
# another DEBPKG_SUITE); its lists are updated when older than a day, or
# when the sources changed (another mirror).
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

mode=fetch
if [ "${1:-}" = --versions ]; then
	mode=versions
	shift
	[ $# -eq 2 ] || die "usage: debpkg.sh --versions NAME ARCH"
	name=$1 arch=$2
else
	[ $# -ge 4 ] || die "usage: debpkg.sh NAME ARCH VERSION|newest DESTDIR [SHA256]"
	name=$1 arch=$2 want=$3 dest=$4 sha=${5:-}
	mkdir -p "$dest"
fi
suite=${DEBPKG_SUITE:-bookworm}
mirror=${DEBPKG_MIRROR:-http://deb.debian.org}
dir=$WB_CACHE/apt-$arch${DEBPKG_SUITE:+-$suite}
mkdir -p "$dir/state/lists/partial" "$dir/cache/archives/partial" "$dir/etc"
: >>"$dir/state/status"
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
# A stable release's four suites
release_sources() {
	cat <<SRC
deb [signed-by=$keyring] $mirror/debian $1 main
deb [signed-by=$keyring] $mirror/debian $1-updates main
deb [signed-by=$keyring] $mirror/debian-security $1-security main
deb [signed-by=$keyring] $mirror/debian $1-backports main
SRC
}
IFS=+ read -ra releases <<<"$suite"
for r in "${releases[@]}"; do
	case "$r" in
	bookworm | trixie) release_sources "$r" ;;
	unstable) echo "deb [signed-by=$keyring] $mirror/debian unstable main" ;;
	*) die "DEBPKG_SUITE=$suite: bookworm, trixie or unstable ('+' between two)" ;;
	esac
done >"$dir/etc/sources.list"
apt_private() {
	apt-get -q -o Dir::State="$dir/state" -o Dir::State::status="$dir/state/status" \
		-o Dir::Cache="$dir/cache" -o Dir::Etc::SourceList="$dir/etc/sources.list" \
		-o Dir::Etc::SourceParts=/dev/null -o Dir::Etc::Preferences=/dev/null \
		-o Dir::Etc::PreferencesParts=/dev/null \
		-o APT::Architecture="$arch" -o APT::Architectures::="$arch" \
		-o Debug::NoLocking=1 -o APT::Sandbox::User=root "$@"
}
apt_cache_private() {
	apt-cache -o Dir::State="$dir/state" -o Dir::State::status="$dir/state/status" \
		-o Dir::Cache="$dir/cache" -o Dir::Etc::SourceList="$dir/etc/sources.list" \
		-o Dir::Etc::SourceParts=/dev/null -o Dir::Etc::Preferences=/dev/null \
		-o Dir::Etc::PreferencesParts=/dev/null \
		-o APT::Architecture="$arch" -o APT::Architectures::="$arch" "$@"
}

# The stamp holds the sources its lists were fetched from (lists of another
# mirror are not this one's) and is as old as they are.
stamp=$dir/state/updated
if [ -z "$(find "$stamp" -mmin -1440 2>/dev/null)" ] || ! cmp -s "$stamp" "$dir/etc/sources.list"; then
	# --error-on=any: without it a suite that could not be fetched (no
	# network) is only a "W:", and the lists would silently be old ones.
	if apt_private update --error-on=any >&2; then
		cp "$dir/etc/sources.list" "$stamp"
	elif cmp -s "$stamp" "$dir/etc/sources.list"; then
		# lists of the same sources, older than a day: better than none; the
		# stamp is left as it is, so the next call tries again
		warn "apt-get update (private, $arch, $suite) failed: using the package lists of $(date -r "$stamp" '+%F %R')"
	else
		die "apt-get update (private, $arch, $suite) failed"
	fi
fi

# madison: "NAME | VERSION | MIRROR SUITE/COMPONENT ARCH Packages", newest
# first; kept as "VERSION SUITE"
served=$(apt_cache_private madison "$name" |
	awk -F'|' '{gsub(/ /, "", $2); split($3, w, " "); sub(/\/.*/, "", w[2]); print $2, w[2]}')
[ -n "$served" ] || die "$name ($arch) is not served by Debian $suite"
if [ "$mode" = versions ]; then
	printf '%s\n' "$served"
	exit 0
fi
versions=$(cut -d' ' -f1 <<<"$served" | sort -u)
version=$want
if [ "$want" = newest ] || ! grep -qxF -- "$want" <<<"$versions"; then
	newest=$(head -n 1 <<<"$versions")
	for v in $versions; do
		dpkg --compare-versions "$v" gt "$newest" && newest=$v
	done
	[ "$want" = newest ] || warn "$name $want ($arch) is no longer served; using the newest, $newest"
	version=$newest
	sha=
fi
(cd "$dest" && apt_private download "$name:$arch=$version" >&2) ||
	die "apt-get download $name:$arch=$version failed"
# (an if, not "test && printf": the loop's status is its last test's, and
# with pipefail another version's .deb found last would end this script)
deb=$(find "$dest" -maxdepth 1 -name "${name}_*_${arch}.deb" -o -maxdepth 1 -name "${name}_*_all.deb" |
	while read -r f; do
		if [ "$(dpkg-deb -f "$f" Version)" = "$version" ]; then printf '%s\n' "$f"; fi
	done | head -n 1)
[ -n "$deb" ] || die "no .deb of $name $version in $dest"
if [ -n "$sha" ]; then
	have=$(sha256sum "$deb" | cut -d' ' -f1)
	[ "$have" = "$sha" ] || die "$deb: sha256 $have, not the pinned $sha"
fi
printf '%s\n%s\n' "$deb" "$version"
