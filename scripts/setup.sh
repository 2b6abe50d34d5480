#!/usr/bin/env bash
# Install what the workbench needs from Debian's packages, idempotently:
# the cross compiler, static checkers, kernel build dependencies, QEMU >= 10
# from bookworm-backports and the pinned base (linux-source-6.12).
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

QEMU_MIN=10.0
PKGS=(make git xz-utils gcc gcc-aarch64-linux-gnu libc6-dev-arm64-cross
      sparse coccinelle ccache flex bison bc libssl-dev libelf-dev cpio
      python3 python3-ply python3-git perl shellcheck file ocaml-nox gnuplot-nox fonts-dejavu-core
      lcov)
BACKPORTS=/etc/apt/sources.list.d/bookworm-backports.sources

SUDO=
if [ "$(id -u)" -ne 0 ]; then
	command -v sudo >/dev/null || die "setup needs root (or sudo) to install packages"
	SUDO=sudo
fi

missing_pkgs() {
	local p
	for p in "${PKGS[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
			grep -q 'install ok installed' || printf '%s\n' "$p"
	done
}

qemu_version() {
	dpkg-query -W -f='${Version}' qemu-system-arm 2>/dev/null | sed 's/^[0-9]*://'
}

qemu_ok() {
	local v
	v=$(qemu_version)
	[ -n "$v" ] && dpkg --compare-versions "$v" ge "$QEMU_MIN" &&
		command -v qemu-system-aarch64 >/dev/null
}

base_version() {
	dpkg-query -W -f='${Version}' "$BASE_PACKAGE" 2>/dev/null || true
}

updated=
apt_update() {
	[ -n "$updated" ] && return 0
	say "apt-get update"
	$SUDO apt-get update -qq
	updated=1
}

apt_install() {
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq \
		--no-install-recommends "$@"
}

has_backports() {
	grep -rqsE '^[^#]*bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/
}

# 0. The OS: the sources this adds (bookworm-backports) and the base's
# package are Debian 12's. Elsewhere, only a machine that already has all
# of it goes on.
os_id=$(. /etc/os-release 2>/dev/null && echo "${ID:-unknown} ${VERSION_CODENAME:-unknown}")
os_name=$(. /etc/os-release 2>/dev/null && echo "${PRETTY_NAME:-unknown}")
if [ "$os_id" != "debian bookworm" ]; then
	if [ -z "$(missing_pkgs)" ] && qemu_ok && [ "$(base_version)" = "$BASE_VERSION" ]; then
		warn "this is $os_name, not Debian 12 (bookworm): going on, everything needed is installed"
	else
		die "setup installs from Debian 12 (bookworm) and its backports, and this is $os_name.
  Use a Debian bookworm machine (or container), or install by hand: the packages
  ${PKGS[*]},
  qemu-system-arm >= $QEMU_MIN, and $BASE_PACKAGE $BASE_VERSION ($BASE_TARBALL)."
	fi
fi

# 1. Plain packages.
mapfile -t need < <(missing_pkgs)
if [ "${#need[@]}" -gt 0 ]; then
	apt_update
	say "installing: ${need[*]}"
	apt_install "${need[@]}"
fi

# 2. QEMU >= 10 from bookworm-backports (bookworm's 7.2 has no nested SMMUv3).
if ! qemu_ok; then
	if ! has_backports; then
		say "adding bookworm-backports to apt's sources ($BACKPORTS)"
		$SUDO tee "$BACKPORTS" >/dev/null <<'SRC'
Types: deb deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
		updated=
	fi
	apt_update
	say "installing qemu-system-arm from bookworm-backports"
	apt_install -t bookworm-backports qemu-system-arm qemu-system-data ipxe-qemu
	qemu_ok || die "qemu-system-arm >= $QEMU_MIN is needed; have '$(qemu_version)'"
fi

# 3. The pinned base.
if [ "$(base_version)" != "$BASE_VERSION" ]; then
	apt_update
	if apt-cache madison "$BASE_PACKAGE" | awk '{print $3}' | grep -qxF "$BASE_VERSION"; then
		say "installing $BASE_PACKAGE=$BASE_VERSION (the pinned base)"
		apt_install --allow-downgrades "$BASE_PACKAGE=$BASE_VERSION"
	else
		newest=$(apt-cache policy "$BASE_PACKAGE" | awk '/Candidate:/ {print $2}')
		if [ -z "$newest" ] || [ "$newest" = "(none)" ]; then
			die "$BASE_PACKAGE is not served by any configured apt source"
		fi
		warn "$BASE_PACKAGE $BASE_VERSION (the pinned base) is no longer served;"
		warn "using the newest 6.12 instead: $newest. The series may not apply"
		warn "('make rebase VERSION=$newest' tells which patches need a refresh)."
		apt_install "$BASE_PACKAGE"
	fi
fi
[ -r "$BASE_TARBALL" ] || die "$BASE_TARBALL is missing after installing $BASE_PACKAGE"

# 4. Report what we have.
have=$(base_version)
say "base: $BASE_PACKAGE $have"
[ "$have" = "$BASE_VERSION" ] ||
	warn "base is $have, not the pinned $BASE_VERSION"
say "qemu: $(qemu-system-aarch64 --version | head -1)"
say "cross: $(aarch64-linux-gnu-gcc --version | head -1)"
say "sparse $(sparse --version), spatch $(spatch --version 2>/dev/null | head -1 | awk '{print $3}')"
