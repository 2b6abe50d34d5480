#!/usr/bin/env bash
# Fetch one Debian package's .deb with a private apt configuration, never
# touching the host's dpkg architectures or apt sources:
#   debpkg.sh NAME ARCH VERSION DESTDIR [SHA256]
# VERSION: an exact version, or "newest". With SHA256 the .deb must match
# it; if that version is not served any more the newest one is taken, with
# a warning on stderr. Prints the path of the .deb, then its version.
# The private apt state (its own lists of Debian bookworm, -updates,
# -security and -backports for ARCH, or of unstable with DEBPKG_SUITE=unstable)
# lives in $WB_CACHE/apt-ARCH (apt-ARCH-unstable); it is updated when older
# than a day.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

[ $# -ge 4 ] || die "usage: debpkg.sh NAME ARCH VERSION|newest DESTDIR [SHA256]"
name=$1 arch=$2 want=$3 dest=$4 sha=${5:-}
suite=${DEBPKG_SUITE:-bookworm}
dir=$WB_CACHE/apt-$arch${DEBPKG_SUITE:+-$suite}
mkdir -p "$dir/state/lists/partial" "$dir/cache/archives/partial" "$dir/etc" "$dest"
: >>"$dir/state/status"
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
case "$suite" in
bookworm)
	cat >"$dir/etc/sources.list" <<SRC
deb [signed-by=$keyring] http://deb.debian.org/debian bookworm main
deb [signed-by=$keyring] http://deb.debian.org/debian bookworm-updates main
deb [signed-by=$keyring] http://deb.debian.org/debian-security bookworm-security main
deb [signed-by=$keyring] http://deb.debian.org/debian bookworm-backports main
SRC
	;;
unstable)
	echo "deb [signed-by=$keyring] http://deb.debian.org/debian unstable main" \
		>"$dir/etc/sources.list"
	;;
*) die "DEBPKG_SUITE=$suite: bookworm or unstable" ;;
esac
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

stamp=$dir/state/updated
if [ -z "$(find "$stamp" -mmin -1440 2>/dev/null)" ]; then
	apt_private update >&2 || die "apt-get update (private, $arch) failed"
	touch "$stamp"
fi

versions=$(apt_cache_private madison "$name" | awk -F'|' '{gsub(/ /, "", $2); print $2}' | sort -u)
[ -n "$versions" ] || die "$name ($arch) is not served by Debian $suite"
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
deb=$(find "$dest" -maxdepth 1 -name "${name}_*_${arch}.deb" -o -maxdepth 1 -name "${name}_*_all.deb" |
	while read -r f; do
		[ "$(dpkg-deb -f "$f" Version)" = "$version" ] && printf '%s\n' "$f"
	done | head -n 1)
[ -n "$deb" ] || die "no .deb of $name $version in $dest"
if [ -n "$sha" ]; then
	have=$(sha256sum "$deb" | cut -d' ' -f1)
	[ "$have" = "$sha" ] || die "$deb: sha256 $have, not the pinned $sha"
fi
printf '%s\n%s\n' "$deb" "$version"
