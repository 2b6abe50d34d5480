#!/bin/busybox sh
# shellcheck shell=dash
# /init of the three-level machine's host (L1): the kernel under test with
# KVM, at EL2 under L0's TCG. Binds L0's NVMe and edu to vfio-pci and runs
# Debian's QEMU 11.1.3 with KVM for the guest (L2), once per run named in
# l3.runs (comma list):
#   plain    vfio-pci with the iommufd backend, no vIOMMU in L2
#   legacy   vfio-pci with the VFIO container (type1), no vIOMMU in L2
#   accel    the accelerated vSMMUv3 (-device arm-smmuv3,accel=on), both
#            devices behind it, one nest parent
#   crash    accel, and QEMU killed (kill -9) during L2's disk I/O
#   life     accel through L2's reboot, QMP system_reset, and the NVMe's
#            hot-unplug and re-plug (QMP device_del, device_add)
#   two      two accel VMs at once, one NVMe and one edu each (L0's second
#            pair), then a third on the first one's freed devices
# with options appended: "-memfd" (guest RAM from memory-backend-memfd,
# which makes QEMU try IOMMU_IOAS_MAP_FILE), "+strace" (QEMU under strace,
# its ioctls on /dev/iommu and the VFIO files logged; the run stops once the
# guest runs), "-lazy" (L2 with iommu.strict=0: its flush queue).
# Prints "l1: ..." lines (key=value); L2's console as "L2[RUN]| ...".
# Other parameters: l3.deadline (L1's uptime in seconds by which every run
# must have ended; a run may take what the runs after it do not need, each
# of them keeping l3.minrun seconds, 30), l3.mib, l3.host_off,
# l3.host_mib, l3.host_seed (the disk workload), l3.edu_l1 (1: run the edu
# DMA program in L1 first, against L0's SMMU).
/bin/busybox mkdir -p /proc /sys /dev /tmp /run /var/tmp
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
export LD_LIBRARY_PATH=/usr/lib/aarch64-linux-gnu
export PATH=/bin:/usr/bin:/sbin:/usr/sbin

# arg, up, secs, finish, find_pci
LEVEL=l1
# shellcheck source=common.sh
. /l3-common.sh

echo "l1: boot kernel=$(uname -r) uptime=$(up) cpus=$(grep -c ^processor /proc/cpuinfo) mem_kib=$(awk '/MemTotal/ {print $2}' /proc/meminfo)"
echo "l1: kvm dev=$([ -c /dev/kvm ] && echo 1 || echo 0) el2=$(dmesg | grep -c 'CPU(s) started at EL2') vhe=$(dmesg | grep -c 'VHE mode initialized')"
echo "l1: iommu dev_iommu=$([ -c /dev/iommu ] && echo 1 || echo 0) smmu_devices=$(find /sys/class/iommu -mindepth 1 -maxdepth 1 2>/dev/null | wc -l) nesting_canwbs=$(cat /sys/module/arm_smmu_v3/parameters/nesting_canwbs 2>/dev/null || echo none)"

# From here on the console shows warnings and worse only (KERN_WARNING
# and up: every splat), so that kernel lines (SMMU event dumps...) do not
# cut this script's lines in two; dmesg keeps everything.
dmesg -n 5

# bind_vfio NAME BDF: hand the device to vfio-pci.
bind_vfio() {
	local d=/sys/bus/pci/devices/$2 drv
	if [ -e "$d/driver" ]; then
		echo "$2" >"$d/driver/unbind"
	fi
	echo vfio-pci >"$d/driver_override"
	echo "$2" >/sys/bus/pci/drivers_probe
	drv=$(basename "$(readlink "$d/driver" 2>/dev/null)" 2>/dev/null)
	echo "l1: vfio name=$1 bdf=$2 driver=${drv:-none} group=$(basename "$(readlink "$d/iommu_group" 2>/dev/null)" 2>/dev/null) cdev=$(ls "$d/vfio-dev" 2>/dev/null)"
	[ "$drv" = vfio-pci ]
}

# Every NVMe and edu L0 gives (two of each: the second pair is the second
# VM's of the two-VM run), all bound to vfio-pci.
NVMES=$(find_pci_all class=0x010802 | tr '\n' ' ')
EDUS=$(find_pci_all 0x1234:0x11e8 | tr '\n' ' ')
NVME=$(echo "$NVMES" | cut -d' ' -f1)
NVME2=$(echo "$NVMES" | cut -d' ' -f2)
EDU=$(echo "$EDUS" | cut -d' ' -f1)
EDU2=$(echo "$EDUS" | cut -d' ' -f2)
[ -n "$NVME" ] || { echo "l1: error op=find-nvme"; finish 1; }
[ -n "$EDU" ] || { echo "l1: error op=find-edu"; finish 1; }
bind_vfio nvme "$NVME" || finish 1
bind_vfio edu "$EDU" || finish 1
if [ -n "$NVME2" ] && [ -n "$EDU2" ]; then
	bind_vfio nvme2 "$NVME2" || finish 1
	bind_vfio edu2 "$EDU2" || finish 1
fi

if [ "$(arg l3.edu_l1 0)" = 1 ]; then
	L3_EDU_PREFIX=l1 /bin/l3_edu "$EDU"
	echo "l1: edu smmu_events=$(dmesg | grep -c 'event 0x.. received')"
fi

QEMU=/usr/bin/qemu-system-aarch64
echo "l1: qemu version=$($QEMU --version | head -n 1 | sed 's/ /_/g')"
# What this binary offers (l3.probe=1; each QEMU start costs seconds here):
# its SMMUv3/iommufd trace events, and the accelerated SMMUv3's properties.
if [ "$(arg l3.probe 0)" = 1 ]; then
echo "l1: qemu trace-events $($QEMU -trace help 2>&1 | grep -E '^(smmuv3_accel|iommufd|smmuv3_cmdq)' | tr '\n' ' ')"
$QEMU -M virt -device arm-smmuv3,help 2>&1 | sed 's/^/l1: qemu arm-smmuv3-prop /'
fi

# The trace events QEMU 11.1.3 is asked for: what iommufd was asked (every
# backend call with its return), what the accelerated vSMMU installed, and
# every command the guest's driver queued; and each byte L2 writes to its
# console (pl011_write), which places L2's own lines among them: the guest
# commands of the disk workload are those between its "l2: disk
# workload-start" and "l2: disk readback" lines.
TRACE="-trace iommufd_* -trace smmuv3_accel_* -trace smmuv3_cmdq_opcode
-trace smmuv3_cmdq_tlbi_* -trace smmuv3_cmdq_cfgi_* -trace smmuv3_cmdq_consume_error
-trace smmuv3_propagate_event -trace pl011_write"

# alive PID: the process exists and is not a zombie.
alive() {
	[ -r "/proc/$1/status" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status"
}

# A VM is one QEMU 11.1.3 process, named NAME (its files /tmp/*-NAME*,
# L2's console /tmp/l2-NAME.log, its lines "L2[NAME]| ..."); a run starts
# one VM, or several (two: three).

# vm_cmd NAME DEVS APPEND [reboot]: VM NAME's command line. Without
# "reboot", -no-reboot (L2's reset or reboot ends QEMU). Every VM gets two
# QMP sockets: /tmp/qmp-NAME.sock for commands, /tmp/qmp-NAME-ev.sock for
# an event log (a QMP socket serves one client at a time).
vm_cmd() {
	local noreboot=-no-reboot
	[ "${4:-}" = reboot ] && noreboot=
	echo "$STRACE $QEMU -name l2-$1 -M virt,gic-version=3 -accel kvm -cpu host -smp 1 $RAM
-bios /usr/share/qemu-efi-aarch64/QEMU_EFI.fd -nodefaults -display none
$noreboot -monitor none -chardev file,id=con0,path=/tmp/l2-$1.log -serial chardev:con0
-qmp unix:/tmp/qmp-$1.sock,server=on,wait=off -qmp unix:/tmp/qmp-$1-ev.sock,server=on,wait=off
$2
-kernel /l2/Image -initrd /l2/initramfs.cpio
$TRACE -D /tmp/qtrace-$1.log" >"/tmp/cmd-$1"
	echo "$3" >"/tmp/append-$1"
}

# accel_devs NVME [EDU]: the accelerated vSMMU (one pxb-pcie root complex),
# the NVMe (id nvme0) and edu (id edu0) each alone on a hot-pluggable root
# port.
accel_devs() {
	echo "-object iommufd,id=iommufd0
-device pxb-pcie,id=pcie.1,bus_nr=1,bus=pcie.0
-device arm-smmuv3,primary-bus=pcie.1,id=smmuv3.1,accel=on
-device pcie-root-port,id=pcie.port1,bus=pcie.1,chassis=1
-device pcie-root-port,id=pcie.port2,bus=pcie.1,chassis=2
-device vfio-pci,host=$1,bus=pcie.port1,id=nvme0,iommufd=iommufd0,rombar=0"
	[ -z "${2:-}" ] || echo "-device vfio-pci,host=$2,bus=pcie.port2,id=edu0,iommufd=iommufd0,rombar=0"
}

# l2_append NAME INDEX [EXTRA]: L2's kernel command line. quiet: every
# console byte is an exit to this QEMU (L2's log stays in its dmesg, which
# its /init greps); nowatchdog: L2's vCPU is a thread of a TCG guest,
# stalls of tens of seconds are the host's, not L2's. INDEX picks the
# run's disk region (l3.mib MiB at INDEX * l3.mib MiB) and seed; the two
# run takes two regions (two-a's, then two-c's; two-b's disk is the
# second NVMe, region 0).
l2_append() {
	echo "console=ttyAMA0 quiet nowatchdog acpi=force iommu.strict=1 panic=-1 l3.run=$1 l3.off=$(($2 * MIB)) l3.mib=$MIB l3.seed=$((0x5eed00 + $2)) l3.host_off=$(arg l3.host_off 224) l3.host_mib=$(arg l3.host_mib 0) l3.host_seed=$(arg l3.host_seed 0) l3.fio_off=$(arg l3.fio_off 0) l3.fio_mib=$(arg l3.fio_mib 0) ${3:-}"
}

# busy_cs: the centiseconds L1's CPUs have spent not idle since boot
# (/proc/stat: user, nice, system, irq, softirq, steal; guest time is in
# user). Under L0's -icount (three-level.sh L0_ICOUNT) they count the
# instructions L1 and its guests executed, whatever this machine's load.
busy_cs() {
	awk '/^cpu / {print $2 + $3 + $4 + $7 + $8 + $9; exit}' /proc/stat
}

# vm_start NAME DEVICE...: start VM NAME in its own session; the DEVICEs
# (addresses) are the ones it is given, for the "after" lines.
vm_start() {
	local n=$1
	shift
	echo "$*" >"/tmp/devs-$n"
	busy_cs >"/tmp/b0-$n"
	rm -f "/tmp/qemu-$n.pid" "/tmp/l2-$n.log" "/tmp/qmp-$n.sock" "/tmp/qmp-$n-ev.sock"
	echo "l1: vm name=$n start uptime=$(up)"
	echo "l1: cmdline run=$n | $(tr '\n' ' ' <"/tmp/cmd-$n") -append \"$(cat "/tmp/append-$n")\""
	set -f
	# shellcheck disable=SC2046
	setsid $(cat "/tmp/cmd-$n") -pidfile "/tmp/qemu-$n.pid" -append "$(cat "/tmp/append-$n")" \
		>"/tmp/qemu-$n.out" 2>&1 &
	echo $! >"/tmp/lead-$n"
	set +f
	secs >"/tmp/t0-$n"
}

# vm_pid NAME: QEMU's pid (from its pidfile), or nothing.
vm_pid() {
	cat "/tmp/qemu-$1.pid" 2>/dev/null
}

# vm_alive NAME: the VM's session leader or QEMU itself still runs.
vm_alive() {
	local q
	q=$(vm_pid "$1")
	alive "$(cat "/tmp/lead-$1")" || { [ -n "$q" ] && alive "$q"; }
}

# vm_wait NAME END: wait until VM NAME has exited, or kill its whole
# session and QEMU at uptime END (a hang must not leave the devices busy
# for the next run). Under strace the run is stopped once L2's console
# shows the guest running, or after l3.strace_limit seconds (60): tracing
# every syscall at this depth is too slow for a whole run (UEFI did not
# print its banner within 86 s), and the ioctls that set iommufd up come
# first. Prints "l1: qemu run=NAME rc=RC seconds=S limit=L busy_cs=B" (B:
# busy_cs over the run), RC being
# QEMU's exit status (strace's), "stopped" (strace run), "killed" (hung)
# or the status of a kill -9 of this script's (137).
vm_wait() {
	local n=$1 end=$2 lead q stopped=0 killed=0 rc
	lead=$(cat "/tmp/lead-$n")
	[ -n "$STRACE" ] && end=$(( $(secs) + $(arg l3.strace_limit 60) ))
	while vm_alive "$n"; do
		q=$(vm_pid "$n")
		if [ -n "$STRACE" ] && [ "$stopped" = 0 ] && [ -s "/tmp/l2-$n.log" ]; then
			kill -TERM "$lead"
			stopped=1
		fi
		if [ "$(secs)" -ge "$end" ] && [ "$killed" = 0 ]; then
			kill -KILL -- "-$lead" 2>/dev/null
			[ -n "$q" ] && kill -KILL "$q" 2>/dev/null
			if [ -n "$STRACE" ]; then stopped=1; else killed=1; fi
		fi
		sleep 0.2
	done
	wait "$lead"
	rc=$?
	[ "$stopped" = 1 ] && rc=stopped
	[ "$killed" = 1 ] && rc=killed
	echo "l1: qemu run=$n rc=$rc seconds=$(( $(secs) - $(cat "/tmp/t0-$n") )) limit=$(( end - $(cat "/tmp/t0-$n") ))" \
		"busy_cs=$(( $(busy_cs) - $(cat "/tmp/b0-$n") ))"
}

# l2_wait NAME PATTERN END: wait until L2's console of VM NAME has a line
# matching PATTERN (grep -E), while the VM runs and until uptime END.
l2_wait() {
	while ! grep -qE "$2" "/tmp/l2-$1.log" 2>/dev/null; do
		vm_alive "$1" && [ "$(secs)" -lt "$3" ] || return 1
		sleep 0.2
	done
}

# vm_report NAME: what QEMU said, L2's console, QEMU's trace (every
# iommufd call with its return and every vSMMU STE install, in order;
# guest commands counted), and where the VM's devices are now.
vm_report() {
	local n=$1 q d
	sed "s/^/l1: qemu-says run=$n | /" "/tmp/qemu-$n.out" | head -n 50
	tr -d '\r' <"/tmp/l2-$n.log" | sed "s/^/L2[$n]| /"
	# (lines are "EVENT args", or "PID@TIME:EVENT args" with -msg timestamp=on)
	sed -E 's/^[0-9]+@[0-9.]+://' "/tmp/qtrace-$n.log" |
		grep -E '^(iommufd_|smmuv3_accel_|smmuv3_propagate_event|smmuv3_cmdq_consume_error)' |
		grep -v '^iommufd_backend_invalidate_cache' | head -n 400 | sed "s/^/l1: qtrace run=$n | /"
	guest_cmds "$n"
	if [ -n "$STRACE" ]; then
		sed "s/^/l1: strace run=$n | /" "/tmp/strace-$n.log" | head -n 400
	fi
	q=$(vm_pid "$n")
	# shellcheck disable=SC2013
	for d in $(cat "/tmp/devs-$n"); do
		echo "l1: after run=$n bdf=$d driver=$(basename "$(readlink "/sys/bus/pci/devices/$d/driver" 2>/dev/null)" 2>/dev/null) qemu_alive=$([ -n "$q" ] && alive "$q" && echo 1 || echo 0)"
	done
}

# guest_cmds NAME: from QEMU's trace of VM NAME, the commands L2's driver
# queued (smmuv3_cmdq_opcode) per phase of L2's run: "boot" until L2 prints
# "l2: disk workload-start", "workload" until "l2: disk readback", "after"
# (the edu tests, power-off); and QEMU's IOMMU_HWPT_INVALIDATE calls per
# phase with their commands (entry_num), commands done (done_num) and
# results; and the events QEMU gave L2's vSMMU (smmuv3_propagate_event).
# Prints "l1: guest-cmd run=R phase=P opcode=O count=N", "l1: guest-inv
# run=R phase=P calls=N entries=N done=N rc=RC" and "l1: guest-event run=R
# phase=P type=T sid=S count=N".
guest_cmds() {
	awk -v r="$1" '
	function hex(s,  i, n) {
		s = tolower(s)
		sub(/^0x/, "", s)
		n = 0
		for (i = 1; i <= length(s); i++)
			n = n * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1
		return n
	}
	function kv(k,  m) {
		if (match($0, k "=[0-9]+"))
			return substr($0, RSTART + length(k) + 1, RLENGTH - length(k) - 1)
		return 0
	}
	BEGIN { phase = "boot"; line = "" }
	{ sub(/^[0-9]+@[0-9.]+:/, "") }
	$1 == "pl011_write" && $NF == "DR" {
		v = hex($5) % 256
		if (v == 10) {
			if (line ~ /l2: disk workload-start/) phase = "workload"
			else if (line ~ /l2: disk readback/) phase = "after"
			line = ""
		} else if (v >= 32 && v < 127)
			line = line sprintf("%c", v)
		next
	}
	$1 == "smmuv3_cmdq_opcode" { n[phase " " $3]++; next }
	$1 == "smmuv3_propagate_event" { ev[phase " " $2 " " $3]++; next }
	$1 == "iommufd_backend_invalidate_cache" {
		rc = $NF
		gsub(/[()]/, "", rc)
		k = phase " " rc
		calls[k]++
		ent[k] += kv("entry_num")
		dn[k] += kv("done_num")
		next
	}
	END {
		for (k in n) {
			split(k, a, " ")
			print "l1: guest-cmd run=" r " phase=" a[1] " opcode=" a[2] " count=" n[k]
		}
		for (k in calls) {
			split(k, a, " ")
			print "l1: guest-inv run=" r " phase=" a[1] " calls=" calls[k] " entries=" ent[k] " done=" dn[k] " rc=" a[2]
		}
		for (k in ev) {
			split(k, a, " ")
			print "l1: guest-event run=" r " phase=" a[1] " type=" a[2] " " a[3] " count=" ev[k]
		}
	}' "/tmp/qtrace-$1.log"
}

# teardown_dma RUN EDU: once QEMU has exited, edu (which L2 had behind its vIOMMU)
# is back with vfio-pci here and unused; driven through its sysfs BAR, it
# DMAs to the IOVA where L2's mapping landed its data (l3_edu's IOVA_DST).
# L0's trace, between this function's two lines, must show no translation
# for edu's stream, and L1's driver logs the fault (L1's own domain for
# the device maps nothing).
teardown_dma() {
	local ev0 ev1
	ev0=$(dmesg | grep -c 'event 0x.. received')
	echo "l1: teardown-dma run=$1 start bdf=$2 group_type=$(cat "/sys/bus/pci/devices/$2/iommu_group/type" 2>/dev/null) driver=$(basename "$(readlink "/sys/bus/pci/devices/$2/driver" 2>/dev/null)" 2>/dev/null)"
	L3_EDU_PREFIX=l1 /bin/l3_edu --bar "$2" 0x200000
	ev1=$(dmesg | grep -c 'event 0x.. received')
	echo "l1: teardown-dma run=$1 end l1_smmu_events=$((ev1 - ev0))"
}

# qmp_do NAME WHAT ARGS...: one QMP exchange with VM NAME (the qmp
# client's arguments), its output as "l1: qmp run=NAME what=WHAT | ..."
# lines and its exit status as "l1: qmp-rc run=NAME what=WHAT rc=RC".
qmp_do() {
	local n=$1 what=$2 qrc=0
	shift 2
	/bin/qmp "/tmp/qmp-$n.sock" "$@" >"/tmp/qmp-$n-$what.out" 2>&1 || qrc=$?
	sed "s/^/l1: qmp run=$n what=$what | /" "/tmp/qmp-$n-$what.out"
	echo "l1: qmp-rc run=$n what=$what rc=$qrc uptime=$(up)"
	return "$qrc"
}

# ev_log NAME END: VM NAME's QMP events, in the background, into
# /tmp/qmp-NAME-events.log, until QEMU's SHUTDOWN or uptime END.
ev_log() {
	/bin/qmp "/tmp/qmp-$1-ev.sock" -t $(( $2 - $(secs) )) -w SHUTDOWN \
		>"/tmp/qmp-$1-events.log" 2>&1 &
}

# ev_report NAME: the event log's events (RESET, DEVICE_DELETED...).
ev_report() {
	grep -E '^qmp: (event|timeout|error)' "/tmp/qmp-$1-events.log" 2>/dev/null |
		sed "s/^/l1: qmp-event run=$1 | /"
}

# dev_driver BDF: L1's driver of a device now.
dev_driver() {
	basename "$(readlink "/sys/bus/pci/devices/$1/driver" 2>/dev/null)" 2>/dev/null
}

# With l3.inv_timing=1 (make bench), each IOMMU_HWPT_INVALIDATE of a
# single-VM run is timed inside this kernel, the same way on any kernel:
# a kprobe at iommufd_hwpt_invalidate's entry and a kretprobe at its
# return (tracefs), paired by task; l3.inv_fn=FUNCTION times another
# function instead. l3.inv_inner=FUNCTION also times a function the call
# makes (a driver's part of it, say) in the same calls: each call's time
# inside it, and outside it (the rest of the call, which then includes the
# cost of the inner probes). Prints "l1: inv-timing run=RUN calls=N
# median_us=M p99_us=P [inner=FUNCTION inner_median_us=I outside_median_us=O]"
# (the trace clock's microseconds).
TRACEFS=/sys/kernel/tracing
inv_timing_start() {
	local fn inner
	[ "$(arg l3.inv_timing 0)" = 1 ] || return 0
	[ -e "$TRACEFS/kprobe_events" ] || mount -t tracefs tracefs "$TRACEFS" 2>/dev/null
	echo 0 >"$TRACEFS/tracing_on"
	echo >"$TRACEFS/kprobe_events"
	fn=$(arg l3.inv_fn iommufd_hwpt_invalidate)
	inner=$(arg l3.inv_inner "")
	if ! echo "p:wbinv $fn" >>"$TRACEFS/kprobe_events" ||
		! echo "r:wbinvret $fn" >>"$TRACEFS/kprobe_events" ||
		{ [ -n "$inner" ] && ! { echo "p:wbin $inner" >>"$TRACEFS/kprobe_events" &&
			echo "r:wbinret $inner" >>"$TRACEFS/kprobe_events"; }; }; then
		echo "l1: inv-timing run=$1 error=kprobe"
		return 0
	fi
	echo 4096 >"$TRACEFS/buffer_size_kb"
	echo >"$TRACEFS/trace"
	echo 1 >"$TRACEFS/events/kprobes/enable"
	echo 1 >"$TRACEFS/tracing_on"
}

inv_timing_end() {
	[ "$(arg l3.inv_timing 0)" = 1 ] && [ -e "$TRACEFS/events/kprobes/wbinv" ] || return 0
	echo 0 >"$TRACEFS/tracing_on"
	echo 0 >"$TRACEFS/events/kprobes/enable"
	# each call's time (entry to return, by task), and its time inside the
	# inner function; then the median and the 99th percentile of each
	awk '
	/ wbinv: | wbinvret: | wbin: | wbinret: / {
		for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+\.[0-9]+:$/) t = substr($i, 1, length($i) - 1)
		task = $1
		if ($0 ~ / wbinv: /) { start[task] = t; in_us[task] = 0 }
		else if ($0 ~ / wbin: /) istart[task] = t
		else if ($0 ~ / wbinret: /) {
			if (task in istart) { in_us[task] += (t - istart[task]) * 1e6; delete istart[task] }
		} else if (task in start) {
			all = (t - start[task]) * 1e6
			printf "%.0f %.0f %.0f\n", all, in_us[task], all - in_us[task]
			delete start[task]
		}
	}' "$TRACEFS/trace" >/tmp/inv-us
	for col in 1 2 3; do
		cut -d" " -f$col /tmp/inv-us | sort -n >/tmp/inv-us-$col
	done
	awk -v r="$1" -v inner="$(arg l3.inv_inner "")" '
	FILENAME ~ /-1$/ { a[n++] = $1 } FILENAME ~ /-2$/ { b[m++] = $1 } FILENAME ~ /-3$/ { c[o++] = $1 }
	END {
		if (!n) { print "l1: inv-timing run=" r " calls=0"; exit }
		line = sprintf("l1: inv-timing run=%s calls=%d median_us=%d p99_us=%d", r, n, a[int((n - 1) / 2)], a[int((n - 1) * 0.99)])
		if (inner != "")
			line = line sprintf(" inner=%s inner_median_us=%d outside_median_us=%d", inner, b[int((m - 1) / 2)], c[int((o - 1) / 2)])
		print line
	}' /tmp/inv-us-1 /tmp/inv-us-2 /tmp/inv-us-3
	echo >"$TRACEFS/kprobe_events"
}

# run_single RUN MODE END: one VM (plain, legacy, accel; lazy: L2 in
# iommu.strict=0).
run_single() {
	local devs app edu=0
	case "$2" in
	plain)
		devs="-object iommufd,id=iommufd0
-device vfio-pci,host=$NVME,iommufd=iommufd0,rombar=0
-device vfio-pci,host=$EDU,iommufd=iommufd0,rombar=0" ;;
	legacy)
		devs="-device vfio-pci,host=$NVME,rombar=0 -device vfio-pci,host=$EDU,rombar=0" ;;
	accel)
		devs=$(accel_devs "$NVME" "$EDU")
		edu=1 ;;
	esac
	app=$(l2_append "$1" "$reg" "l3.edu=$edu")
	case "$1" in *-lazy*) app=$(echo "$app" | sed 's/iommu.strict=1/iommu.strict=0/') ;; esac
	vm_cmd "$1" "$devs" "$app"
	inv_timing_start "$1"
	vm_start "$1" "$NVME" "$EDU"
	vm_wait "$1" "$3"
	inv_timing_end "$1"
	vm_report "$1"
	[ "$edu" = 1 ] && teardown_dma "$1" "$EDU"
}

# run_crash END: kill -9 QEMU while L2's disk workload runs (L2 repeats it
# until killed: l3.loop), then the DMA after teardown on edu; the next run
# on the same devices shows they still work.
run_crash() {
	local q ok=0
	vm_cmd crash "$(accel_devs "$NVME" "$EDU")" "$(l2_append crash "$reg" "l3.edu=0 l3.loop=1000")"
	vm_start crash "$NVME" "$EDU"
	if l2_wait crash 'l2: disk workload-start' "$1" &&
		l2_wait crash 'l2: disk (write|readback) ' "$1"; then
		ok=1
	fi
	q=$(vm_pid crash)
	echo "l1: crash kill pid=${q:-none} workload_seen=$ok loops_done=$(grep -c 'l2: disk readback' /tmp/l2-crash.log) uptime=$(up)"
	[ -n "$q" ] && kill -KILL "$q"
	vm_wait crash "$1"
	echo "l1: crash killed loops_done=$(grep -c 'l2: disk readback' /tmp/l2-crash.log) uptime=$(up)"
	vm_report crash
	teardown_dma crash "$EDU"
}

# run_life END: one VM through a host's life: L2 reboots itself (reboot
# -f: QMP event RESET guest-reset), is reset by QMP system_reset, and has
# its NVMe hot-unplugged (device_del, DEVICE_DELETED) and plugged back
# (device_add); L2 verifies its data at every boot and after the re-plug
# (its steps: guest/three-level/l2-init.sh). Run life-reboot: only the
# guest's reboot (the debug kernel's leg).
run_life() {
	local end=$1 n=$RUN steps=full
	case "$RUN" in *-reboot*) steps=reboot ;; esac
	vm_cmd "$n" "$(accel_devs "$NVME" "$EDU")" "$(l2_append "$n" "$reg" "l3.edu=0 l3.life=$steps")" reboot
	vm_start "$n" "$NVME" "$EDU"
	ev_log "$n" "$end"
	if l2_wait "$n" 'l2: life step=reboot ' "$end"; then
		echo "l1: life op=guest-reboot uptime=$(up)"
	fi
	if [ "$steps" = full ] && l2_wait "$n" 'l2: life step=reset ' "$end"; then
		echo "l1: life op=system_reset uptime=$(up)"
		qmp_do "$n" system_reset -t 60 system_reset -w RESET -m host-qmp-system-reset
	fi
	if [ "$steps" = full ] && l2_wait "$n" 'l2: life step=unplug ' "$end"; then
		echo "l1: life op=device_del uptime=$(up)"
		if qmp_do "$n" device_del -t 120 '{"execute": "device_del", "arguments": {"id": "nvme0"}}' \
			-w DEVICE_DELETED -m /machine/peripheral/nvme0; then
			echo "l1: life unplugged bdf=$NVME driver=$(dev_driver "$NVME") uptime=$(up)"
			l2_wait "$n" 'l2: life step=unplugged ' "$end"
			echo "l1: life op=device_add uptime=$(up)"
			qmp_do "$n" device_add -t 60 "{\"execute\": \"device_add\", \"arguments\": {\"driver\": \"vfio-pci\", \"host\": \"$NVME\", \"bus\": \"pcie.port1\", \"id\": \"nvme0\", \"iommufd\": \"iommufd0\", \"rombar\": 0}}"
		fi
	fi
	vm_wait "$n" "$end"
	ev_report "$n"
	vm_report "$n"
}

# starts NAME PATTERN: how many lines of VM NAME's L2 console match.
starts() {
	grep -cE "$2" "/tmp/l2-$1.log" 2>/dev/null
}

# run_two END: two VMs at once, each with its own accelerated vSMMU, NVMe
# and edu (two-a: the first pair, two-b: the second), then a third (two-c)
# on two-a's freed devices. The order is made, not hoped for, with QMP
# stop and cont (each VM's vCPU paused; its devices' DMA in flight
# completes): two-a runs alone until its disk workload starts (L0's trace
# then has a stretch of two-a's VMID alone), is paused while two-b starts,
# and resumed once two-b's workload has started, so that both move data
# at once; two-b (three loops of its workload to two-a's two) is paused if
# it reaches its third loop before two-a has exited, and resumed after,
# so that it moves data after two-a has gone.
run_two() {
	local end=$1 bstop=0
	if [ -z "$NVME2" ] || [ -z "$EDU2" ]; then
		echo "l1: error op=run run=two reason=no-second-pair"
		return 1
	fi
	vm_cmd two-a "$(accel_devs "$NVME" "$EDU")" "$(l2_append two-a "$reg" "l3.edu=1 l3.loop=2")"
	vm_cmd two-b "$(accel_devs "$NVME2" "$EDU2")" "$(l2_append two-b 0 "l3.edu=1 l3.loop=3 l3.host_mib=0")"
	vm_start two-a "$NVME" "$EDU"
	l2_wait two-a 'l2: disk workload-start' "$end" && qmp_do two-a stop -t 30 stop
	vm_start two-b "$NVME2" "$EDU2"
	l2_wait two-b 'l2: disk workload-start' "$end"
	qmp_do two-a cont -t 30 cont
	echo "l1: two both-running uptime=$(up)"
	while vm_alive two-a && [ "$(secs)" -lt "$end" ]; do
		if [ "$bstop" = 0 ] && [ "$(starts two-b 'l2: disk workload-start')" -ge 3 ]; then
			qmp_do two-b stop -t 30 stop && bstop=1
		fi
		sleep 0.2
	done
	vm_wait two-a "$end"
	echo "l1: vm-end name=two-a two_b_loops_done=$(starts two-b 'l2: disk readback') two_b_alive=$(vm_alive two-b && echo 1 || echo 0) two_b_paused=$bstop uptime=$(up)"
	[ "$bstop" = 1 ] && qmp_do two-b cont -t 30 cont
	vm_wait two-b "$end"
	echo "l1: vm-end name=two-b two_b_loops_done=$(starts two-b 'l2: disk readback') uptime=$(up)"
	vm_report two-a
	vm_report two-b
	# two-c: its edu DMAs to the IOVAs two-a's NVMe used first (the top
	# of the 32-bit IOVA space, where L2's DMA API starts), in its own
	# DMA domain where nothing is mapped there
	vm_cmd two-c "$(accel_devs "$NVME" "$EDU")" \
		"$(l2_append two-c "$((reg + 1))" "l3.edu=old l3.old_iova=0xfffff000,0xffffe000,0xffffd000")"
	vm_start two-c "$NVME" "$EDU"
	vm_wait two-c "$end"
	echo "l1: vm-end name=two-c uptime=$(up)"
	vm_report two-c
}

# The debug kernel's kmemleak (no automatic scan): what boot left is set
# aside before the runs (scan, clear); after them two scans find what the
# runs leaked (a VMM killed with DMA in flight, devices unplugged...), its
# report copied as "l1: kmemleak | ..." lines (the parser's splats).
KMEMLEAK=/sys/kernel/debug/kmemleak
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
if [ -w "$KMEMLEAK" ]; then
	echo scan >"$KMEMLEAK" && echo clear >"$KMEMLEAK"
fi

DEADLINE=$(arg l3.deadline 240)
MINRUN=$(arg l3.minrun 30)
NRUNS=$(arg l3.runs plain | tr , '\n' | grep -c .)
MIB=$(arg l3.mib 64)
k=0
reg=0
rc=0
for RUN in $(arg l3.runs plain | tr , ' '); do
	# this run's share: what is left until the deadline, less the minimum
	# the runs after it keep (a slow machine slows every run alike; a
	# hang is the run's own failure, not the next one's)
	LIMIT=$(( DEADLINE - (NRUNS - k - 1) * MINRUN - $(secs) ))
	[ "$LIMIT" -ge "$MINRUN" ] || LIMIT=$MINRUN
	mode=${RUN%%[-+]*}
	RAM="-m 512M"
	case "$RUN" in *-memfd*)
		RAM="-m 512M -object memory-backend-memfd,id=ram0,size=512M -machine memory-backend=ram0" ;;
	esac
	STRACE=
	case "$RUN" in *+strace*)
		# Every syscall of QEMU stops it (no seccomp in this kernel):
		# such a run is slower. Only ioctls on the -P files are logged.
		STRACE="strace -f -qq -e trace=ioctl,openat -o /tmp/strace-$RUN.log"
		for f in /dev/iommu /dev/vfio/* /dev/vfio/devices/*; do
			[ -c "$f" ] && STRACE="$STRACE -P $f"
		done ;;
	esac
	ev0=$(dmesg | grep -c 'event 0x.. received')
	echo "l1: run name=$RUN index=$k mode=$mode uptime=$(up)"
	end=$(( $(secs) + LIMIT ))
	case "$mode" in
	plain|legacy|accel) run_single "$RUN" "$mode" "$end" ;;
	crash) run_crash "$end" ;;
	life) run_life "$end" ;;
	two) run_two "$end" || rc=1; reg=$((reg + 1)) ;;
	*) echo "l1: error op=run run=$RUN reason=unknown-mode"; rc=1 ;;
	esac
	echo "l1: run-end name=$RUN uptime=$(up) l1_smmu_events=$(( $(dmesg | grep -c 'event 0x.. received') - ev0 ))"
	k=$((k + 1))
	reg=$((reg + 1))
done

if [ -w "$KMEMLEAK" ]; then
	echo scan >"$KMEMLEAK"
	echo scan >"$KMEMLEAK"
	sed 's/^/l1: kmemleak | /' "$KMEMLEAK" | head -n 200
	echo "l1: kmemleak objects=$(grep -c 'unreferenced object' "$KMEMLEAK")"
fi
echo "l1: klog warnings=$(dmesg | grep -cE 'WARNING:|BUG:|Oops|Call trace')"
finish "$rc"
