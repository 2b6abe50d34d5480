# shellcheck shell=dash
# Helpers of both /init scripts of the three-level machine (L1's
# guest/three-level/l1-init.sh and L2's guest/three-level/l2-init.sh), installed in each
# initramfs as /l3-common.sh and sourced there. LEVEL (l1 or l2) prefixes
# what they print.

# arg NAME DEFAULT: the kernel parameter NAME=... (the last one, as the
# kernel's own parameters: a later word overrides), or DEFAULT
arg() {
	local a v=$2
	# the command line's words (no parameter here holds a space)
	# shellcheck disable=SC2013
	for a in $(cat /proc/cmdline); do
		case "$a" in "$1="*) v=${a#*=} ;; esac
	done
	echo "$v"
}

# Seconds since boot, from the kernel's clock (up: with hundredths; secs:
# whole).
up() { cut -d' ' -f1 /proc/uptime; }
secs() { cut -d. -f1 /proc/uptime; }

# finish RC: the last line, then power off.
finish() {
	echo "$LEVEL: done rc=$1 uptime=$(up)"
	sync
	poweroff -f
}

# find_pci_all VENDOR:DEVICE | class=CLASS: every PCI device that matches
# (their addresses, one a line, in bus order), never by a fixed address.
find_pci_all() {
	local d
	for d in /sys/bus/pci/devices/*; do
		[ -e "$d/class" ] || continue
		case "$1" in
		class=*) [ "$(cat "$d/class")" = "${1#class=}" ] && basename "$d" ;;
		*) [ "$(cat "$d/vendor"):$(cat "$d/device")" = "$1" ] && basename "$d" ;;
		esac
	done
}

# find_pci VENDOR:DEVICE | class=CLASS: the first of them.
find_pci() {
	find_pci_all "$1" | head -n 1
}
