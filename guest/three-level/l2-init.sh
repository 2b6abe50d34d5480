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

NVME=$(find_pci class=0x010802)
if [ -z "$NVME" ]; then
	echo "l2: error op=find-nvme"
	finish 1
fi
# The block device appears once the controller is probed: poll, deadline 30 s.
end=$(( $(cut -d. -f1 /proc/uptime) + 30 ))
while [ ! -b /dev/nvme0n1 ]; do
	if [ "$(cut -d. -f1 /proc/uptime)" -ge "$end" ]; then
		echo "l2: error op=nvme-wait bdf=$NVME"
		finish 1
	fi
	sleep 0.1
done
echo "l2: nvme bdf=$NVME $(iommu_of "$NVME") size_mib=$(( $(cat /sys/block/nvme0n1/size) / 2048 ))"

rc=0
/bin/l3_disk run /dev/nvme0n1 "$(arg l3.off 0)" "$(arg l3.mib 64)" "$(arg l3.seed 0x5eed)" \
	"$(arg l3.host_off 64)" "$(arg l3.host_mib 0)" "$(arg l3.host_seed 0)" || rc=1

# MSI-X: the NVMe's interrupts (queue vectors nvme0qN) with their chip
# (ITS-PCI-MSIX-... for MSI-X, GICv3 for INTx) and counts over all CPUs.
awk -v n="$(grep -c ^processor /proc/cpuinfo)" '/nvme/ {
	s = 0
	for (i = 2; i <= n + 1; i++) s += $i
	print "l2: irq name=" $NF " count=" s " chip=" $(n + 2)
}' /proc/interrupts

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
if [ "$(arg l3.edu 0)" = 1 ]; then
	end=$(( $(cut -d. -f1 /proc/uptime) + 10 ))
	while [ "$(dmesg | grep -c 'event 0x.. received')" = 0 ] &&
		[ "$(cut -d. -f1 /proc/uptime)" -lt "$end" ]; do
		sleep 0.2
	done
fi
echo "l2: smmu events=$(dmesg | grep -c 'event 0x.. received')"
dmesg | grep -E 'arm-smmu-v3|event 0x|WARNING:|BUG:|Oops|Call trace' | sed 's/^/l2: klog /'
finish "$rc"
