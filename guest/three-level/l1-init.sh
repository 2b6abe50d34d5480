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
# with options appended: "-memfd" (guest RAM from memory-backend-memfd,
# which makes QEMU try IOMMU_IOAS_MAP_FILE), "+strace" (QEMU under strace,
# its ioctls on /dev/iommu and the VFIO files logged; the run stops once the
# guest runs).
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

NVME=$(find_pci class=0x010802)
EDU=$(find_pci 0x1234:0x11e8)
[ -n "$NVME" ] || { echo "l1: error op=find-nvme"; finish 1; }
[ -n "$EDU" ] || { echo "l1: error op=find-edu"; finish 1; }
bind_vfio nvme "$NVME" || finish 1
bind_vfio edu "$EDU" || finish 1

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

# run_qemu: $CMD in its own session, with a deadline of $LIMIT seconds
# (then the whole session and QEMU itself are killed: a hang must not leave
# the devices busy for the next run). Under strace the run is stopped once
# L2's console shows the guest running, or after l3.strace_limit seconds
# (60): tracing every syscall at this depth is too slow for a whole run
# (UEFI did not print its banner within 86 s), and the ioctls that set
# iommufd up come first. Sets qrc: QEMU's exit status (strace's),
# "stopped" (strace run) or "killed" (hung).
run_qemu() {
	local lead q end stopped=0 killed=0
	rm -f "/tmp/qemu-$RUN.pid"
	set -f
	# shellcheck disable=SC2086
	setsid $CMD -pidfile "/tmp/qemu-$RUN.pid" -append "$APPEND" >"/tmp/qemu-$RUN.out" 2>&1 &
	lead=$!
	set +f
	end=$(( $(secs) + LIMIT ))
	[ -n "$STRACE" ] && end=$(( $(secs) + $(arg l3.strace_limit 60) ))
	while :; do
		q=$(cat "/tmp/qemu-$RUN.pid" 2>/dev/null)
		alive "$lead" || { [ -n "$q" ] && alive "$q"; } || break
		if [ -n "$STRACE" ] && [ "$stopped" = 0 ] && [ -s "/tmp/l2-$RUN.log" ]; then
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
	qrc=$?
	[ "$stopped" = 1 ] && qrc=stopped
	[ "$killed" = 1 ] && qrc=killed
}

# guest_cmds: from QEMU's trace of run $RUN, the commands L2's driver
# queued (smmuv3_cmdq_opcode) per phase of L2's run: "boot" until L2 prints
# "l2: disk workload-start", "workload" until "l2: disk readback", "after"
# (the edu tests, power-off); and QEMU's IOMMU_HWPT_INVALIDATE calls per
# phase with their commands (entry_num), commands done (done_num) and
# results; and the events QEMU gave L2's vSMMU (smmuv3_propagate_event).
# Prints "l1: guest-cmd run=R phase=P opcode=O count=N", "l1: guest-inv
# run=R phase=P calls=N entries=N done=N rc=RC" and "l1: guest-event run=R
# phase=P type=T sid=S count=N".
guest_cmds() {
	awk -v r="$RUN" '
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
	}' "/tmp/qtrace-$RUN.log"
}

# teardown_dma: once QEMU has exited, edu (which L2 had behind its vIOMMU)
# is back with vfio-pci here and unused; driven through its sysfs BAR, it
# DMAs to the IOVA where L2's mapping landed its data (l3_edu's IOVA_DST).
# L0's trace, between this function's two lines, must show no translation
# for edu's stream, and L1's driver logs the fault (L1's own domain for
# the device maps nothing).
teardown_dma() {
	local ev0 ev1
	ev0=$(dmesg | grep -c 'event 0x.. received')
	echo "l1: teardown-dma run=$RUN start bdf=$EDU group_type=$(cat "/sys/bus/pci/devices/$EDU/iommu_group/type" 2>/dev/null) driver=$(basename "$(readlink "/sys/bus/pci/devices/$EDU/driver" 2>/dev/null)" 2>/dev/null)"
	L3_EDU_PREFIX=l1 /bin/l3_edu --bar "$EDU" 0x200000
	ev1=$(dmesg | grep -c 'event 0x.. received')
	echo "l1: teardown-dma run=$RUN end l1_smmu_events=$((ev1 - ev0))"
}

DEADLINE=$(arg l3.deadline 240)
MINRUN=$(arg l3.minrun 30)
NRUNS=$(arg l3.runs plain | tr , '\n' | grep -c .)
MIB=$(arg l3.mib 64)
k=0
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
	case "$mode" in
	plain)
		DEVS="-object iommufd,id=iommufd0
-device vfio-pci,host=$NVME,iommufd=iommufd0,rombar=0
-device vfio-pci,host=$EDU,iommufd=iommufd0,rombar=0"
		edu=0 ;;
	legacy)
		DEVS="-device vfio-pci,host=$NVME,rombar=0 -device vfio-pci,host=$EDU,rombar=0"
		edu=0 ;;
	accel)
		DEVS="-object iommufd,id=iommufd0
-device pxb-pcie,id=pcie.1,bus_nr=1,bus=pcie.0
-device arm-smmuv3,primary-bus=pcie.1,id=smmuv3.1,accel=on
-device pcie-root-port,id=pcie.port1,bus=pcie.1,chassis=1
-device vfio-pci,host=$NVME,bus=pcie.port1,iommufd=iommufd0,rombar=0
-device pcie-root-port,id=pcie.port2,bus=pcie.1,chassis=2
-device vfio-pci,host=$EDU,bus=pcie.port2,iommufd=iommufd0,rombar=0"
		edu=1 ;;
	*) echo "l1: error op=run run=$RUN reason=unknown-mode"; rc=1; continue ;;
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
	# quiet: every console byte is an exit to this QEMU (L2's log stays in
	# its dmesg, which its /init greps); nowatchdog: L2's vCPU is a thread
	# of a TCG guest, stalls of tens of seconds are the host's, not L2's.
	APPEND="console=ttyAMA0 quiet nowatchdog acpi=force iommu.strict=1 panic=-1 l3.run=$RUN l3.off=$((k * MIB)) l3.mib=$MIB l3.seed=$((0x5eed00 + k)) l3.host_off=$(arg l3.host_off 224) l3.host_mib=$(arg l3.host_mib 0) l3.host_seed=$(arg l3.host_seed 0) l3.edu=$edu"
	CMD="$STRACE $QEMU -M virt,gic-version=3 -accel kvm -cpu host -smp 1 $RAM
-bios /usr/share/qemu-efi-aarch64/QEMU_EFI.fd -nodefaults -display none
-no-reboot -monitor none -chardev file,id=con0,path=/tmp/l2-$RUN.log -serial chardev:con0
$DEVS
-kernel /l2/Image -initrd /l2/initramfs.cpio
$TRACE -D /tmp/qtrace-$RUN.log"
	ev0=$(dmesg | grep -c 'event 0x.. received')
	echo "l1: run name=$RUN index=$k mode=$mode uptime=$(up)"
	echo "$CMD -append \"$APPEND\"" | tr '\n' ' ' | sed "s/^/l1: cmdline run=$RUN | /"
	echo
	t0=$(secs)
	run_qemu
	echo "l1: qemu run=$RUN rc=$qrc seconds=$(( $(secs) - t0 )) limit=$LIMIT"
	sed "s/^/l1: qemu-says run=$RUN | /" "/tmp/qemu-$RUN.out" | head -n 50
	tr -d '\r' <"/tmp/l2-$RUN.log" | sed "s/^/L2[$RUN]| /"
	# Every iommufd call with its return and every vSMMU STE install, in
	# order; guest commands are counted (one line per opcode).
	# (lines are "EVENT args", or "PID@TIME:EVENT args" with -msg timestamp=on)
	sed -E 's/^[0-9]+@[0-9.]+://' "/tmp/qtrace-$RUN.log" |
		grep -E '^(iommufd_|smmuv3_accel_|smmuv3_propagate_event|smmuv3_cmdq_consume_error)' |
		grep -v '^iommufd_backend_invalidate_cache' | head -n 400 | sed "s/^/l1: qtrace run=$RUN | /"
	guest_cmds
	if [ -n "$STRACE" ]; then
		sed "s/^/l1: strace run=$RUN | /" "/tmp/strace-$RUN.log" | head -n 400
	fi
	echo "l1: run-end name=$RUN uptime=$(up) l1_smmu_events=$(( $(dmesg | grep -c 'event 0x.. received') - ev0 ))"
	# the devices are back with vfio-pci for the next run
	q=$(cat "/tmp/qemu-$RUN.pid" 2>/dev/null)
	for d in "$NVME" "$EDU"; do
		echo "l1: after run=$RUN bdf=$d driver=$(basename "$(readlink "/sys/bus/pci/devices/$d/driver" 2>/dev/null)" 2>/dev/null) qemu_alive=$([ -n "$q" ] && alive "$q" && echo 1 || echo 0)"
	done
	[ "$edu" = 1 ] && teardown_dma
	k=$((k + 1))
done

echo "l1: klog warnings=$(dmesg | grep -cE 'WARNING:|BUG:|Oops|Call trace')"
finish "$rc"
