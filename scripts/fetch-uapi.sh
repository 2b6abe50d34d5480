#!/usr/bin/env bash
# Fetch upstream's uAPI headers (BASE: UAPI_UPSTREAM_*, Debian unstable's
# linux-libc-dev) with a private apt configuration, unpack them under
# $WB_CACHE/uapi/VERSION, and print the include directory. A second run is
# offline.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

dest=$WB_CACHE/uapi
inc=$dest/$UAPI_UPSTREAM_VERSION/usr/include
if [ ! -r "$inc/linux/iommufd.h" ]; then
	mapfile -t deb < <(DEBPKG_SUITE=unstable python3 "$TOP/scripts/debian.py" fetch \
		"$UAPI_UPSTREAM_PACKAGE" amd64 "$UAPI_UPSTREAM_VERSION" "$dest/debs" \
		"$UAPI_UPSTREAM_SHA256")
	[ "${#deb[@]}" -eq 2 ] || die "could not fetch $UAPI_UPSTREAM_PACKAGE"
	if [ "${deb[1]}" != "$UAPI_UPSTREAM_VERSION" ]; then
		warn "upstream's uAPI from $UAPI_UPSTREAM_PACKAGE ${deb[1]}, not the pinned $UAPI_UPSTREAM_VERSION"
		inc=$dest/${deb[1]}/usr/include
	fi
	mkdir -p "${inc%/usr/include}"
	dpkg-deb -x "${deb[0]}" "${inc%/usr/include}"
	[ -r "$inc/linux/iommufd.h" ] || die "no linux/iommufd.h in ${deb[0]}"
fi
printf '%s\n' "$inc"
