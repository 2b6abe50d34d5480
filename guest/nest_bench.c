// SPDX-License-Identifier: GPL-2.0-only
/*
 * make bench, the guest's half: what the SMMU is made to do for a guest's
 * commands and STE switches on a vIOMMU (iommufd's nesting uAPI), run
 * against QEMU's SMMUv3 with an edu device bound to vfio-pci.
 *
 * The VMM's side: guest RAM in a nest parent (stage 2), the device on it, a
 * vIOMMU, the device's vDEVICE (virtual stream ID VSID), nested HWPTs from
 * guest STEs. Then, each fenced by a marker, one measurement: a guest STE
 * switch (the device's HWPT replaced), one guest command of each kind and
 * size, or a batch of commands in one IOMMU_HWPT_INVALIDATE call.
 *
 * A marker is a page mapped into stage 2 at MARK_IPA + K * 4K and unmapped
 * again, whose TLBI_S2_IPA names K in QEMU's trace. scripts/bench.py takes
 * the commands QEMU consumed between two markers, independently of the
 * driver, and checks them against what the guest asked for (opcode, address
 * and range, ASID, VMID, stream ID); this program counts, for the same span,
 * what the driver handed to the command queue, with a kprobe event on
 * arm_smmu_cmdq_issue_cmdlist() (its n and sync).
 *
 * Output, parsed by scripts/bench.py (TAP around it for the workbench):
 *   bench: device SID=S vsid=V
 *   bench: mark K NAME
 *   bench: count NAME kind=KIND asid=A addr=X pages=P entries=E calls=C
 *          kcmds=N ksyncs=S
 *   bench: time NAME calls=C ns=T
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <linux/iommufd.h>
#include <linux/pci_regs.h>
#include <linux/vfio.h>

#include "sysfs.h"

#define SZ_4K 0x1000UL
#define SZ_1G 0x40000000UL

/* Guest RAM (stage 2) and the markers' pages, away from the MSI window */
#define GUEST_IPA 0x4000000UL
#define GUEST_SIZE (16 * SZ_4K)
#define CD_OFF 0x0
#define CD_OFF_2 0x1000
#define MARK_IPA 0x10000000UL
#define GUEST_ASID 1
#define VSID 0x300
/* Stage-1 IOVA of the invalidated ranges: aligned to 1G */
#define INV_IOVA SZ_1G

/* Guest STE and command encodings (SMMUv3 architecture) */
#define STE0_V 1ULL
#define STE0_CFG_ABORT 0ULL
#define STE0_CFG_S1 (5ULL << 1)
#define STE1_LINUX_GUEST 0xd6ULL /* S1DSS=SSID0, S1CIR/COR=WBRA, S1CSH=IS */
#define CMD_CFGI_CD 0x05
#define CMD_CFGI_CD_ALL 0x06
#define CMD_TLBI_NH_ALL 0x10
#define CMD_TLBI_NH_ASID 0x11
#define CMD_TLBI_NH_VA 0x12
#define CMD_TLBI_NH_VAA 0x13
#define CMD_TLBI_NSNH_ALL 0x30
#define CMD_ATC_INV 0x40
#define CMD0_SID(sid) ((uint64_t)(sid) << 32)
#define CMD0_NUM(num) ((uint64_t)(num) << 12)
#define CMD0_SCALE(scale) ((uint64_t)(scale) << 20)
#define CMD0_ASID(asid) ((uint64_t)(asid) << 48)
#define CMD1_LEAF 1ULL
#define CMD1_TTL(ttl) ((uint64_t)(ttl) << 8)
#define CMD1_TG_4K (1ULL << 10)

#define EDU_VENDOR 0x1234
#define EDU_DEVICE 0x11e8

#define TRACING "/sys/kernel/tracing"
#define KPROBE "wb/cmdlist"

static int iommufd = -1, devfd = -1;
static __u32 dev_id, ioas_id, parent_id, viommu_id;
static __u32 hwpt_s1, hwpt_s1_2, hwpt_abort;
static unsigned int sid;
static uint8_t *ram, *mark_page;
static unsigned int marks, tap;
static bool failed;

static void result(bool ok, const char *fmt, ...)
{
	va_list ap;

	printf("%s %u ", ok ? "ok" : "not ok", ++tap);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	if (!ok)
		failed = true;
}

static void bail(const char *what)
{
	printf("not ok %u %s: %s\n", ++tap, what, strerror(errno));
	printf("1..%u\n", tap);
	exit(1);
}

static int write_file(const char *path, const char *text, int flags)
{
	int fd = open(path, O_WRONLY | flags);
	ssize_t len = strlen(text);
	int ret = 0;

	if (fd < 0)
		return -1;
	if (write(fd, text, len) != len)
		ret = -1;
	close(fd);
	return ret;
}

/* The kprobe event that counts what the driver puts in the queue */
static void kprobe_setup(void)
{
	mkdir(TRACING, 0755);
	if (mount("tracefs", TRACING, "tracefs", 0, NULL) && errno != EBUSY)
		bail("mount tracefs");
	if (write_file(TRACING "/kprobe_events",
		       "p:" KPROBE " arm_smmu_cmdq_issue_cmdlist n=$arg4:s32 sync=$arg5:u8\n",
		       O_TRUNC))
		bail("kprobe on arm_smmu_cmdq_issue_cmdlist");
	if (write_file(TRACING "/buffer_size_kb", "4096", 0) ||
	    write_file(TRACING "/events/" KPROBE "/enable", "1", 0))
		bail("enable the kprobe event");
}

static void kcount_clear(void)
{
	if (write_file(TRACING "/trace", "", O_TRUNC))
		bail("clear the trace");
}

/* Commands and CMD_SYNCs the driver issued since kcount_clear() */
static void kcount(unsigned long *cmds, unsigned long *syncs,
		   unsigned long *calls)
{
	char line[512];
	unsigned int n, sync;
	FILE *f = fopen(TRACING "/trace", "r");
	char *p;

	*cmds = *syncs = *calls = 0;
	if (!f)
		bail("read the trace");
	while (fgets(line, sizeof(line), f)) {
		if (line[0] == '#')
			continue;
		p = strstr(line, " n=");
		if (!p || sscanf(p, " n=%u sync=%u", &n, &sync) != 2)
			continue;
		*cmds += n;
		*syncs += !!sync;
		(*calls)++;
	}
	fclose(f);
}

/* Map and unmap a stage-2 page: TLBI_S2_IPA of MARK_IPA + K * 4K */
static void mark(const char *name)
{
	struct iommu_ioas_map map = {
		.size = sizeof(map),
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE,
		.ioas_id = ioas_id,
		.user_va = (uintptr_t)mark_page,
		.length = SZ_4K,
		.iova = MARK_IPA + marks * SZ_4K,
	};
	struct iommu_ioas_unmap unmap = {
		.size = sizeof(unmap),
		.ioas_id = ioas_id,
		.iova = map.iova,
		.length = SZ_4K,
	};

	if (ioctl(iommufd, IOMMU_IOAS_MAP, &map) ||
	    ioctl(iommufd, IOMMU_IOAS_UNMAP, &unmap))
		bail("marker");
	printf("bench: mark %u %s\n", marks++, name);
}

/* Guest commands through the vIOMMU, all of them done or an error */
static int invalidate(const struct iommu_viommu_arm_smmuv3_invalidate *cmds,
		      __u32 num)
{
	struct iommu_hwpt_invalidate cmd = {
		.size = sizeof(cmd),
		.hwpt_id = viommu_id,
		.data_uptr = (uintptr_t)cmds,
		.data_type = IOMMU_VIOMMU_INVALIDATE_DATA_ARM_SMMUV3,
		.entry_len = sizeof(*cmds),
		.entry_num = num,
	};
	int ret = ioctl(iommufd, IOMMU_HWPT_INVALIDATE, &cmd);

	return ret ? ret : (cmd.entry_num == num ? 0 : -1);
}

static int attach(__u32 pt_id)
{
	struct vfio_device_attach_iommufd_pt cmd = {
		.argsz = sizeof(cmd),
		.pt_id = pt_id,
	};

	return ioctl(devfd, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &cmd);
}

/* What a measurement asked for; bench.py checks the commands against it */
struct span {
	const char *name, *kind;
	unsigned int asid;
	uint64_t addr, pages, entries;
};

static void counted(const struct span *s, int ret)
{
	unsigned long cmds, syncs, calls;

	kcount(&cmds, &syncs, &calls);
	printf("bench: count %s kind=%s asid=%u addr=%#llx pages=%llu entries=%llu calls=%lu kcmds=%lu ksyncs=%lu\n",
	       s->name, s->kind, s->asid, (unsigned long long)s->addr,
	       (unsigned long long)s->pages, (unsigned long long)s->entries,
	       calls, cmds, syncs);
	result(!ret, "%s", s->name);
}

/* One command, fenced */
static void measure_cmd(const struct span *s, uint64_t w0, uint64_t w1)
{
	struct iommu_viommu_arm_smmuv3_invalidate cmd = {
		.cmd = { w0, w1 },
	};

	mark(s->name);
	kcount_clear();
	counted(s, invalidate(&cmd, 1));
}

/* TLBI_NH_VA of (NUM + 1) << SCALE pages of 4K at @addr, with a TTL hint */
static void measure_range(const char *name, uint64_t addr, unsigned int num,
			  unsigned int scale, unsigned int ttl)
{
	struct span s = {
		name, "range", GUEST_ASID, addr, (uint64_t)(num + 1) << scale,
		1,
	};

	measure_cmd(&s,
		    CMD_TLBI_NH_VA | CMD0_ASID(GUEST_ASID) | CMD0_NUM(num) |
			    CMD0_SCALE(scale),
		    addr | CMD1_TG_4K | CMD1_TTL(ttl) | CMD1_LEAF);
}

/* @n one-address TLBI_NH_VA commands, at different addresses */
static struct iommu_viommu_arm_smmuv3_invalidate *page_cmds(unsigned int n)
{
	struct iommu_viommu_arm_smmuv3_invalidate *cmds =
		calloc(n, sizeof(*cmds));
	unsigned int i;

	if (!cmds)
		bail("calloc");
	for (i = 0; i < n; i++) {
		cmds[i].cmd[0] = CMD_TLBI_NH_VA | CMD0_ASID(GUEST_ASID);
		cmds[i].cmd[1] = (INV_IOVA + 2 * i * SZ_4K) | CMD1_LEAF;
	}
	return cmds;
}

static void measure_batch(const char *name, unsigned int n)
{
	struct iommu_viommu_arm_smmuv3_invalidate *cmds = page_cmds(n);
	struct span s = { name, "batch", GUEST_ASID, INV_IOVA, n, n };

	mark(name);
	kcount_clear();
	counted(&s, invalidate(cmds, n));
	free(cmds);
}

/* One command of each kind in one call; bench.py knows the list */
static void measure_mixed(void)
{
	const struct iommu_viommu_arm_smmuv3_invalidate cmds[] = {
		{ { CMD_TLBI_NH_VA | CMD0_ASID(GUEST_ASID),
		    INV_IOVA | CMD1_LEAF } },
		{ { CMD_TLBI_NH_ASID | CMD0_ASID(GUEST_ASID), 0 } },
		{ { CMD_CFGI_CD | CMD0_SID(VSID), CMD1_LEAF } },
		{ { CMD_TLBI_NH_VAA, INV_IOVA } },
		{ { CMD_TLBI_NSNH_ALL, 0 } },
		{ { CMD_CFGI_CD_ALL | CMD0_SID(VSID), 0 } },
		{ { CMD_ATC_INV | CMD0_SID(VSID), 0 } },
		{ { CMD_TLBI_NH_ALL, 0 } },
	};
	struct span s = {
		"batch_mixed", "mixed", GUEST_ASID, INV_IOVA, 0,
		sizeof(cmds) / sizeof(cmds[0]),
	};

	mark(s.name);
	kcount_clear();
	counted(&s, invalidate(cmds, s.entries));
}

/* The device's guest STE replaced by another: a HWPT attach */
static void measure_transition(const char *name, __u32 pt_id)
{
	struct span s = { .name = name, .kind = "transition" };

	mark(name);
	kcount_clear();
	counted(&s, attach(pt_id));
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* Mean cost of one call of each kind; the ratios are what bench.py shows */
static void timings(unsigned int iters)
{
	struct iommu_viommu_arm_smmuv3_invalidate *batch = page_cmds(64);
	struct iommu_option opt = {
		.size = sizeof(opt),
		.option_id = IOMMU_OPTION_RLIMIT_MODE,
		.op = IOMMU_OPTION_OP_GET,
	};
	static const char * const names[] = { "trivial", "inv_1", "inv_64" };
	uint64_t t[3] = {};
	unsigned int i, k;
	int ret = 0;

	if (write_file(TRACING "/events/" KPROBE "/enable", "0", 0))
		bail("disable the kprobe event");
	mark("timings");
	/* Interleaved, so that a slow patch of the host hits them all */
	for (i = 0; i < iters; i++) {
		for (k = 0; k < 3; k++) {
			uint64_t t0 = now_ns();

			if (k == 0)
				ret |= ioctl(iommufd, IOMMU_OPTION, &opt);
			else
				ret |= invalidate(batch, k == 1 ? 1 : 64);
			t[k] += now_ns() - t0;
		}
	}
	for (k = 0; k < 3; k++)
		printf("bench: time %s calls=%u ns=%llu\n", names[k], iters,
		       (unsigned long long)(t[k] / iters));
	result(!ret, "timings");
	free(batch);
}

/*
 * The first edu device's VFIO cdev (never another device's: nothing else
 * gets its DMA set up), its stream ID (its PCI requester ID)
 */
static int open_edu(void)
{
	char path[300], link[300];
	unsigned long vendor, device;
	unsigned int dom, bus, dev, fn;
	int best = -1, fd;
	struct dirent *ent;
	ssize_t n;
	DIR *dir;

	dir = opendir("/sys/class/vfio-dev");
	if (!dir)
		return -1;
	while ((ent = readdir(dir))) {
		int num;

		if (strncmp(ent->d_name, "vfio", 4))
			continue;
		num = atoi(ent->d_name + 4);
		snprintf(path, sizeof(path),
			 "/sys/class/vfio-dev/%s/device/vendor", ent->d_name);
		if (sysfs_read_hex(path, &vendor) || vendor != EDU_VENDOR)
			continue;
		snprintf(path, sizeof(path),
			 "/sys/class/vfio-dev/%s/device/device", ent->d_name);
		if (sysfs_read_hex(path, &device) || device != EDU_DEVICE)
			continue;
		if (best < 0 || num < best)
			best = num;
	}
	closedir(dir);
	if (best < 0)
		return -1;
	snprintf(path, sizeof(path), "/sys/class/vfio-dev/vfio%d/device", best);
	n = readlink(path, link, sizeof(link) - 1);
	if (n <= 0)
		return -1;
	link[n] = 0;
	if (sscanf(strrchr(link, '/') + 1, "%x:%x:%x.%x", &dom, &bus, &dev,
		   &fn) != 4)
		return -1;
	sid = bus << 8 | dev << 3 | fn;
	snprintf(path, sizeof(path), "/dev/vfio/devices/vfio%d", best);
	fd = open(path, O_RDWR);
	return fd;
}

/* Bound: the device's own config space must say edu */
static bool is_edu(void)
{
	struct vfio_region_info cfg = {
		.argsz = sizeof(cfg),
		.index = VFIO_PCI_CONFIG_REGION_INDEX,
	};
	uint16_t vendor, device;

	return !ioctl(devfd, VFIO_DEVICE_GET_REGION_INFO, &cfg) &&
	       pread(devfd, &vendor, 2, cfg.offset + PCI_VENDOR_ID) == 2 &&
	       pread(devfd, &device, 2, cfg.offset + PCI_DEVICE_ID) == 2 &&
	       vendor == EDU_VENDOR && device == EDU_DEVICE;
}

static __u32 nested(uint64_t ste0, uint64_t ste1)
{
	struct iommu_hwpt_arm_smmuv3 ste = { .ste = { ste0, ste1 } };
	struct iommu_hwpt_alloc cmd = {
		.size = sizeof(cmd),
		.dev_id = dev_id,
		.pt_id = viommu_id,
		.data_type = IOMMU_HWPT_DATA_ARM_SMMUV3,
		.data_len = sizeof(ste),
		.data_uptr = (uintptr_t)&ste,
	};

	if (ioctl(iommufd, IOMMU_HWPT_ALLOC, &cmd))
		bail("IOMMU_HWPT_ALLOC of a guest STE");
	return cmd.out_hwpt_id;
}

/*
 * The VMM's side: guest RAM in stage 2, the nest parent, the device on it,
 * the vIOMMU, the vDEVICE, the guest's STEs as nested HWPTs. Returns NULL,
 * or why the machine cannot nest.
 */
static const char *setup(void)
{
	struct vfio_device_bind_iommufd bind = { .argsz = sizeof(bind) };
	struct iommu_hw_info_arm_smmuv3 info = {};
	struct iommu_hw_info hw = {
		.size = sizeof(hw),
		.data_len = sizeof(info),
		.data_uptr = (uintptr_t)&info,
	};
	struct iommu_ioas_alloc ioas = { .size = sizeof(ioas) };
	struct iommu_ioas_map map = {
		.size = sizeof(map),
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
			 IOMMU_IOAS_MAP_WRITEABLE,
		.length = GUEST_SIZE,
		.iova = GUEST_IPA,
	};
	struct iommu_hwpt_alloc hwpt = {
		.size = sizeof(hwpt),
		.flags = IOMMU_HWPT_ALLOC_NEST_PARENT,
	};
	struct iommu_viommu_alloc viommu = {
		.size = sizeof(viommu),
		.type = IOMMU_VIOMMU_TYPE_ARM_SMMUV3,
	};
	struct iommu_vdevice_alloc vdev = {
		.size = sizeof(vdev),
		.virt_id = VSID,
	};

	devfd = open_edu();
	iommufd = open("/dev/iommu", O_RDWR);
	if (devfd < 0 || iommufd < 0)
		bail("open an edu device's VFIO cdev and /dev/iommu");
	bind.iommufd = iommufd;
	if (ioctl(devfd, VFIO_DEVICE_BIND_IOMMUFD, &bind))
		bail("VFIO_DEVICE_BIND_IOMMUFD");
	if (!is_edu()) {
		errno = ENODEV;
		bail("the VFIO device is not an edu");
	}
	dev_id = bind.out_devid;
	hw.dev_id = dev_id;
	if (ioctl(iommufd, IOMMU_GET_HW_INFO, &hw))
		bail("IOMMU_GET_HW_INFO");
	if (hw.out_data_type != IOMMU_HW_INFO_TYPE_ARM_SMMUV3 ||
	    (info.idr[0] & 3) != 3)
		return "the SMMU does not translate both stages";

	ram = mmap(NULL, GUEST_SIZE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	mark_page = mmap(NULL, SZ_4K, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (ram == MAP_FAILED || mark_page == MAP_FAILED)
		bail("mmap");
	memset(ram, 0, GUEST_SIZE);
	memset(mark_page, 0, SZ_4K);
	if (ioctl(iommufd, IOMMU_IOAS_ALLOC, &ioas))
		bail("IOMMU_IOAS_ALLOC");
	ioas_id = ioas.out_ioas_id;
	map.ioas_id = ioas_id;
	map.user_va = (uintptr_t)ram;
	if (ioctl(iommufd, IOMMU_IOAS_MAP, &map))
		bail("IOMMU_IOAS_MAP");
	hwpt.dev_id = dev_id;
	hwpt.pt_id = ioas_id;
	if (ioctl(iommufd, IOMMU_HWPT_ALLOC, &hwpt))
		bail("IOMMU_HWPT_ALLOC of the nest parent");
	parent_id = hwpt.out_hwpt_id;
	if (attach(parent_id))
		bail("VFIO_DEVICE_ATTACH_IOMMUFD_PT");
	viommu.dev_id = dev_id;
	viommu.hwpt_id = parent_id;
	if (ioctl(iommufd, IOMMU_VIOMMU_ALLOC, &viommu)) {
		if (errno == EOPNOTSUPP)
			return "the platform does not let a guest own stage 1 (no S2FWB, no CANWBS)";
		bail("IOMMU_VIOMMU_ALLOC");
	}
	viommu_id = viommu.out_viommu_id;
	vdev.viommu_id = viommu_id;
	vdev.dev_id = dev_id;
	if (ioctl(iommufd, IOMMU_VDEVICE_ALLOC, &vdev))
		bail("IOMMU_VDEVICE_ALLOC");
	hwpt_s1 = nested(STE0_V | STE0_CFG_S1 | (GUEST_IPA + CD_OFF),
			 STE1_LINUX_GUEST);
	hwpt_s1_2 = nested(STE0_V | STE0_CFG_S1 | (GUEST_IPA + CD_OFF_2),
			   STE1_LINUX_GUEST);
	hwpt_abort = nested(STE0_V | STE0_CFG_ABORT, 0);
	printf("bench: device SID=%#x vsid=%#x\n", sid, VSID);
	return NULL;
}

int main(int argc, char **argv)
{
	unsigned int iters = argc > 1 ? atoi(argv[1]) : 500;
	const char *why;

	printf("TAP version 13\n");
	why = setup();
	if (why) {
		printf("1..0 # SKIP %s\n", why);
		return 4;
	}
	kprobe_setup();

	/* The guest's STE switches, from stage 2 alone */
	measure_transition("s2_to_nested", hwpt_s1);
	measure_transition("nested_to_s2", parent_id);
	measure_transition("s2_to_nested_again", hwpt_s1);
	measure_transition("nested_to_abort", hwpt_abort);
	measure_transition("abort_to_nested", hwpt_s1);
	measure_transition("cdtab_change", hwpt_s1_2);

	/* One command: an address, ranges of 4K pages, 2M blocks, the rest */
	measure_cmd(&(struct span){ "va_1", "va", GUEST_ASID, INV_IOVA, 1, 1 },
		    CMD_TLBI_NH_VA | CMD0_ASID(GUEST_ASID),
		    INV_IOVA | CMD1_LEAF);
	measure_cmd(&(struct span){ "vaa_1", "vaa", 0, INV_IOVA, 1, 1 },
		    CMD_TLBI_NH_VAA, INV_IOVA | CMD1_LEAF);
	measure_range("pages_1", INV_IOVA, 0, 0, 0);
	measure_range("pages_3", INV_IOVA, 2, 0, 0);
	measure_range("pages_16", INV_IOVA, 15, 0, 0);
	measure_range("pages_31", INV_IOVA, 30, 0, 0);
	measure_range("pages_96", INV_IOVA, 2, 5, 0);
	measure_range("pages_512", INV_IOVA, 0, 9, 0);
	measure_range("pages_992", INV_IOVA, 30, 5, 0);
	measure_range("pages_262144", INV_IOVA, 0, 18, 0);
	/* The whole 48-bit input range: more than SCALE can count */
	measure_range("pages_2p36", 0, 31, 31, 0);
	measure_range("blocks_2M_1", INV_IOVA, 15, 5, 2);
	measure_range("blocks_2M_16", INV_IOVA, 0, 13, 2);
	measure_range("blocks_2M_512", INV_IOVA, 0, 18, 2);
	measure_cmd(&(struct span){ "asid", "asid", GUEST_ASID, 0, 0, 1 },
		    CMD_TLBI_NH_ASID | CMD0_ASID(GUEST_ASID), 0);
	measure_cmd(&(struct span){ "all", "all", 0, 0, 0, 1 },
		    CMD_TLBI_NH_ALL, 0);
	measure_cmd(&(struct span){ "nsnh_all", "all", 0, 0, 0, 1 },
		    CMD_TLBI_NSNH_ALL, 0);
	measure_cmd(&(struct span){ "cd", "cd", 0, 0, 0, 1 },
		    CMD_CFGI_CD | CMD0_SID(VSID), CMD1_LEAF);
	measure_cmd(&(struct span){ "cd_all", "cd_all", 0, 0, 0, 1 },
		    CMD_CFGI_CD_ALL | CMD0_SID(VSID), 0);
	measure_cmd(&(struct span){ "atc", "atc", 0, 0, 0, 1 },
		    CMD_ATC_INV | CMD0_SID(VSID), 0);

	/* Batches of one-address commands in one call, and one of each */
	measure_batch("batch_1", 1);
	measure_batch("batch_8", 8);
	measure_batch("batch_64", 64);
	measure_batch("batch_512", 512);
	measure_mixed();

	timings(iters);
	mark("end");
	printf("1..%u\n", tap);
	return failed;
}
