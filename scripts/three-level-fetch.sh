#!/usr/bin/env bash
# Fetch the three-level machine's Debian arm64 packages (configs/three-level-packages.txt),
# check their sha256 and unpack each one (dpkg-deb -x, no maintainer scripts)
# under ~/.cache/smmuv3-nesting/three-level/root/. A second run is offline. Uses a
# private apt configuration (scripts/debian.py) under ~/.cache/smmuv3-nesting/three-level/apt:
# the host's dpkg architectures and apt sources are never changed.
#   three-level-fetch.sh             fetch what the pins say (warn and take the newest
#                           for a pinned version gone from the mirror)
#   three-level-fetch.sh --resolve   rewrite the pins from the mirror's newest versions
#                           of what the pins file's want records name
# Writes build/three-level/packages-used.txt: what was actually used, with versions.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

L3CACHE=${L3CACHE:-$WB_CACHE/three-level}
PINS=$TOP/configs/three-level-packages.txt
mkdir -p "$L3CACHE" "$BUILD/three-level"

if [ "${1:-}" = --resolve ]; then
	exec python3 "$TOP/scripts/three_level_pkgs.py" resolve --apt "$L3CACHE/apt" --pins "$PINS"
fi

python3 "$TOP/scripts/three_level_pkgs.py" fetch --apt "$L3CACHE/apt" --cache "$L3CACHE" \
	--pins "$PINS" --used "$BUILD/three-level/packages-used.txt"
