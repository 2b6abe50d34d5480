#!/bin/busybox sh
# shellcheck shell=dash
# /init of the three-level machine's guest (L2): Debian's stock arm64 kernel,
# booted by UEFI with ACPI, behind L1's QEMU 11.1.3. Runs the disk workload
# on the assigned NVMe and, where L2 has an IOMMU, edu DMA through L2's own
# VFIO; prints "l2: ..." lines (key=value) and powers off.
# Kernel parameters read: l3.run (name of this run), l3.off, l3.mib, l3.seed,
# l3.host_off, l3.host_mib, l3.host_seed (see l3_disk), l3.edu (1: edu test).
/bin/busybox mkdir -p /proc /sys /dev /tmp /usr/bin /usr/sbin /sbin
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp

# arg, up, finish, find_pci
LEVEL=l2
# shellcheck source=common.sh
. /l3-common.sh

RUN=$(arg l3.run none)
echo "l2: boot run=$RUN kernel=$(uname -r) uptime=$(up) cpus=$(grep -c ^processor /proc/cpuinfo)"

# Modules (Debian builds VFIO as modules), in dependency order.
while read -r m; do
	[ -n "$m" ] || continue
	insmod "/lib/modules/$m" || echo "l2: error op=insmod module=$m"
done </lib/modules/load.order

# The IOMMU in front of a device: its group's domain type (DMA, DMA-FQ,
# identity) or "none".
iommu_of() {
	if [ -e "/sys/bus/pci/devices/$1/iommu_group" ]; then
		echo "group=$(basename "$(readlink "/sys/bus/pci/devices/$1/iommu_group")") domain=$(cat "/sys/bus/pci/devices/$1/iommu_group/type" 2>/dev/null)"
	else
		echo "group=none domain=none"
	fi
}

echo "l2: iommu smmu_devices=$(find /sys/class/iommu -mindepth 1 -maxdepth 1 2>/dev/null | wc -l) strict=$(grep -c 'iommu.strict=1' /proc/cmdline)"

# wait_disk: the first NVMe's block device, once its controller is probed
# (poll, deadline 30 s); "" if none came.
wait_disk() {
	local end
	end=$(( $(secs) + 30 ))
	while :; do
		for b in /dev/nvme*n1; do
			[ -b "$b" ] && { echo "$b"; return; }
		done
		[ "$(secs)" -ge "$end" ] && return
		sleep 0.1
	done
}

NVME=$(find_pci class=0x010802)
if [ -z "$NVME" ]; then
	echo "l2: error op=find-nvme"
	finish 1
fi
DEV=$(wait_disk)
if [ -z "$DEV" ]; then
	echo "l2: error op=nvme-wait bdf=$NVME"
	finish 1
fi
echo "l2: nvme bdf=$NVME $(iommu_of "$NVME") size_mib=$(( $(cat "/sys/block/${DEV#/dev/}/size") / 2048 ))"

# A life run (l3.run=life, L1's run_life): the region of the run
# (l3.off, l3.mib MiB) holds one 8 MiB region per boot, seeded with l3.seed
# + 16 * boot, and in its last MiB a sector with the boot number
# ("l3life gen=N"), which the same kernel command line of every boot cannot
# carry. Boot N checks what boots 0..N-1 wrote, writes its own region,
# then: boot 0 reboots (reboot -f), boot 1 waits for L1's system_reset
# (with l3.life=reboot it powers off instead), boot 2 waits for the NVMe's
# hot-unplug and re-plug, then checks and writes again and powers off.
LIFE_MIB=8

life_state() {
	echo $(( ($(arg l3.off 0) + $(arg l3.mib 64) - 1) * 2048 ))
}

# life_regions FIRST LAST: check boots FIRST..LAST-1's regions, write LAST's.
life_regions() {
	local p=0 off seed lrc=0
	off=$(arg l3.off 0)
	seed=$(arg l3.seed 0x5eed)
	while [ "$p" -lt "$1" ]; do
		/bin/l3_disk check "$DEV" $((off + p * LIFE_MIB)) "$LIFE_MIB" $((seed + 16 * p)) || lrc=1
		p=$((p + 1))
	done
	/bin/l3_disk run "$DEV" $((off + $1 * LIFE_MIB)) "$LIFE_MIB" $((seed + 16 * $1)) 0 0 0 || lrc=1
	return "$lrc"
}

# life_gen N: record boot N as the next one.
life_gen() {
	printf 'l3life gen=%d\n' "$1" | dd of="$DEV" bs=512 seek="$(life_state)" count=1 conv=sync,fsync 2>/dev/null
	sync
}

# life_idle PATTERN SECONDS: wait (idle) until a sysfs path exists or not
# (!PATH), or the deadline; 1 then.
life_idle() {
	local end
	end=$(( $(secs) + $2 ))
	while :; do
		case "$1" in
		!*) [ -e "${1#!}" ] || return 0 ;;
		*) [ -e "$1" ] && return 0 ;;
		esac
		[ "$(secs)" -ge "$end" ] && return 1
		sleep 0.2
	done
}

life() {
	local gen lrc=0 nv
	gen=$(dd if="$DEV" bs=512 skip="$(life_state)" count=1 2>/dev/null | tr -dc 'a-z0-9=' |
		sed -n 's/^l3lifegen=\([0-9]*\).*/\1/p')
	gen=${gen:-0}
	echo "l2: life boot gen=$gen steps=$(arg l3.life full) bdf=$NVME $(iommu_of "$NVME")"
	life_regions "$gen" || lrc=1
	life_gen $((gen + 1))
	case "$gen" in
	0)
		echo "l2: life step=reboot gen=0 rc=$lrc"
		sync
		reboot -f
		sleep 60
		echo "l2: life error op=reboot"
		finish 1 ;;
	1)
		if [ "$(arg l3.life full)" != full ]; then
			echo "l2: life step=done gen=1 rc=$lrc"
			finish "$lrc"
		fi
		echo "l2: life step=reset gen=1 rc=$lrc"
		sleep 120
		echo "l2: life error op=wait-reset"
		finish 1 ;;
	2)
		echo "l2: life step=unplug gen=2 rc=$lrc bdf=$NVME"
		if ! life_idle "!/sys/bus/pci/devices/$NVME" 120; then
			echo "l2: life error op=wait-unplug"
			finish 1
		fi
		echo "l2: life step=unplugged bdf=$NVME block=$(find /dev -name "nvme*n1" | wc -l)"
		if ! life_idle "/sys/bus/pci/devices/$NVME" 120; then
			echo "l2: life error op=wait-replug"
			finish 1
		fi
		DEV=$(wait_disk)
		nv=$(find_pci class=0x010802)
		echo "l2: life step=replugged bdf=$nv dev=$DEV $(iommu_of "$nv")"
		[ -n "$DEV" ] || finish 1
		life_regions 3 || lrc=1
		life_gen 4
		echo "l2: life step=done gen=3 rc=$lrc"
		finish "$lrc" ;;
	*)
		echo "l2: life error op=gen gen=$gen"
		finish 1 ;;
	esac
}

rc=0
case "$RUN" in life*) life ;; esac
# l3.loop=N: the workload N times (the crash run's L2 is killed during it;
# a two-VM run's second VM goes on after the first has gone).
n=0
loops=$(arg l3.loop 1)
while [ "$n" -lt "$loops" ]; do
	/bin/l3_disk run "$DEV" "$(arg l3.off 0)" "$(arg l3.mib 64)" "$(arg l3.seed 0x5eed)" \
		"$(arg l3.host_off 64)" "$(arg l3.host_mib 0)" "$(arg l3.host_seed 0)" || rc=1
	n=$((n + 1))
done

# l3.fio_mib=N (make bench): fio's jobs on N MiB at l3.fio_off MiB, a
# region of their own: random writes of 4k-128k blocks verified
# (crc32c), then 128k sequential writes and reads, all O_DIRECT. One line
# per job: "l2: fio job=NAME rc=RC read_kib_s=R write_kib_s=W".
if [ "$(arg l3.fio_mib 0)" != 0 ] && [ -x /bin/fio ]; then
	for job in randwrite-verify:randwrite:bsrange=4k-128k:1 seqwrite:write:bs=128k:0 seqread:read:bs=128k:0; do
		IFS=: read -r name rw bs verify <<EOF2
$job
EOF2
		set -- --name="$name" --filename="$DEV" --direct=1 --ioengine=psync \
			--rw="$rw" --"$bs" --offset="$(arg l3.fio_off 0)M" \
			--size="$(arg l3.fio_mib 0)M" --minimal
		[ "$verify" = 1 ] && set -- "$@" --verify=crc32c --do_verify=1 --verify_fatal=1
		frc=0
		out=$(/bin/fio "$@" 2>/tmp/fio.err) || frc=$?
		# terse v3: field 7 read bandwidth, 48 write bandwidth (KiB/s)
		echo "l2: fio job=$name rc=$frc $(echo "$out" | awk -F';' '{print "read_kib_s=" $7 " write_kib_s=" $48 " errors=" $5}')"
		[ "$frc" = 0 ] || { sed 's/^/l2: fio-says /' /tmp/fio.err | head -n 5; rc=1; }
	done
fi

# MSI-X: the NVMe's interrupts (queue vectors nvme0qN) with their chip
# (ITS-PCI-MSIX-... for MSI-X, GICv3 for INTx) and counts over all CPUs.
awk -v n="$(grep -c ^processor /proc/cpuinfo)" '/nvme/ {
	s = 0
	for (i = 2; i <= n + 1; i++) s += $i
	print "l2: irq name=" $NF " count=" s " chip=" $(n + 2)
}' /proc/interrupts

# l3.edu=old: edu, bound to vfio-pci (which gives it an IOMMU group and
# this kernel's DMA domain, nothing mapped for it; VFIO itself is not
# used), DMAs through its sysfs BAR to each IOVA of l3.old_iova: IOVAs
# another VM used before this one on the same devices; each must fault
# here.
if [ "$(arg l3.edu 0)" = old ]; then
	EDU=$(find_pci 0x1234:0x11e8)
	echo vfio-pci >"/sys/bus/pci/devices/$EDU/driver_override"
	echo "$EDU" >/sys/bus/pci/drivers_probe
	echo "l2: edu bdf=$EDU $(iommu_of "$EDU") mode=old-iova"
	for iova in $(arg l3.old_iova "" | tr , ' '); do
		L3_EDU_PREFIX=l2 /bin/l3_edu --bar "$EDU" "$iova" || rc=1
	done
fi
if [ "$(arg l3.edu 0)" = 1 ]; then
	EDU=$(find_pci 0x1234:0x11e8)
	if [ -z "$EDU" ]; then
		echo "l2: edu result=fail reason=not-found"
		rc=1
	else
		echo "l2: edu bdf=$EDU $(iommu_of "$EDU")"
		echo vfio-pci >"/sys/bus/pci/devices/$EDU/driver_override"
		echo "$EDU" >/sys/bus/pci/drivers_probe
		erc=0
		/bin/l3_edu "$EDU" || erc=$?
		if [ "$erc" = 3 ]; then
			# VFIO could not take the group: the kernel's reason
			# (e.g. a firmware RMR that requires a 1:1 mapping, which
			# forbids the blocking domain VFIO passes through).
			dmesg | grep -E "$EDU|1:1 IOMMU mapping" | tail -n 3 | sed 's/^/l2: edu kernel-says /'
			# The device stays in the kernel's own DMA domain (strict,
			# nothing mapped at the IOVA): one DMA through its sysfs BAR
			# to an IOVA never mapped, whose stage-1 fault must come back
			# to this kernel's SMMUv3 event log (through the vEVENTQ).
			L3_EDU_PREFIX=l2 /bin/l3_edu --bar "$EDU" 0x4000000 || rc=1
		elif [ "$erc" != 0 ]; then
			rc=1
		fi
	fi
fi

# L2's SMMU events (a fault that came back through the vEVENTQ shows as
# "arm-smmu-v3 ...: event 0x10 received") and any splat.
# (the vEVENTQ path is asynchronous: wait for the first event, with a deadline)
if [ "$(arg l3.edu 0)" != 0 ]; then
	end=$(( $(cut -d. -f1 /proc/uptime) + 10 ))
	while [ "$(dmesg | grep -c 'event 0x.. received')" = 0 ] &&
		[ "$(cut -d. -f1 /proc/uptime)" -lt "$end" ]; do
		sleep 0.2
	done
fi
echo "l2: smmu events=$(dmesg | grep -c 'event 0x.. received')"
dmesg | grep -E 'arm-smmu-v3|event 0x|WARNING:|BUG:|Oops|Call trace' | sed 's/^/l2: klog /'
finish "$rc"
