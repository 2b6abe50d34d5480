// SPDX-License-Identifier: GPL-2.0-only
/*
 * make bench, the guest's half: the cost of a guest's invalidations and of
 * its STE transitions on a nest parent, run against QEMU's SMMUv3 with the
 * edu device bound to vfio-pci.
 *
 * Each measurement is fenced by a marker that QEMU's trace shows: a page
 * mapped into stage 2 at MARK_IPA + K * 4K and unmapped again, whose
 * TLBI_S2_IPA names K. scripts/bench.py counts the commands QEMU consumed
 * between two markers, independently of the driver; this program counts,
 * for the same span, what the driver handed to the command queue, with a
 * kprobe event on arm_smmu_cmdq_issue_cmdlist() (its n and sync).
 *
 * Output, parsed by scripts/bench.py (TAP around it for the workbench):
 *   bench: mark K NAME
 *   bench: count NAME kind=KIND pages=P granules=G entries=E calls=C
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
#include <linux/vfio.h>

#define SZ_4K 0x1000UL
#define SZ_2M 0x200000UL
#define SZ_1G 0x40000000UL

/* Guest RAM (stage 2) and the markers' pages, away from the MSI window */
#define GUEST_IPA 0x4000000UL
#define GUEST_SIZE (16 * SZ_4K)
#define CD_OFF 0x0
#define CD_OFF_2 0x1000
#define MARK_IPA 0x10000000UL
#define GUEST_ASID 1
/* Stage-1 IOVAs of the invalidated ranges: aligned to 1G */
#define INV_IOVA SZ_1G

#define TRACING "/sys/kernel/tracing"
#define KPROBE "wb/cmdlist"

static int iommufd = -1, devfd = -1;
static __u32 dev_id, ioas_id, hwpt_id;
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

static int invalidate(struct iommu_pasid_table_invalidate *inv, __u32 num)
{
	struct iommu_hwpt_invalidate cmd = {
		.size = sizeof(cmd),
		.hwpt_id = hwpt_id,
		.data_uptr = (uintptr_t)inv,
		.data_type = IOMMU_HWPT_INVALIDATE_DATA_PASID_TABLE,
		.entry_len = sizeof(*inv),
		.entry_num = num,
	};
	int ret = ioctl(iommufd, IOMMU_HWPT_INVALIDATE, &cmd);

	return ret ? ret : (cmd.entry_num == num ? 0 : -1);
}

static int set_table(__u32 flags, __u32 config, __u64 base)
{
	struct iommu_hwpt_set_pasid_table cmd = {
		.size = sizeof(cmd),
		.flags = flags,
		.hwpt_id = hwpt_id,
		.format = config ? IOMMU_PASID_FORMAT_SMMUV3 :
				   IOMMU_PASID_FORMAT_NONE,
		.config = config,
		.base_ptr = config == IOMMU_PASID_CONFIG_TRANSLATE ? base : 0,
	};

	return ioctl(iommufd, IOMMU_HWPT_SET_PASID_TABLE, &cmd);
}

/* One fenced measurement: what the driver and QEMU did for @fn */
struct span {
	const char *name, *kind;
	unsigned long pages, granules, entries;
};

static void counted(const struct span *s, int ret)
{
	unsigned long cmds, syncs, calls;

	kcount(&cmds, &syncs, &calls);
	printf("bench: count %s kind=%s pages=%lu granules=%lu entries=%lu calls=%lu kcmds=%lu ksyncs=%lu\n",
	       s->name, s->kind, s->pages, s->granules, s->entries, calls,
	       cmds, syncs);
	result(!ret, "%s", s->name);
}

static void measure_range(const char *name, __u64 granule, __u64 nb)
{
	struct iommu_pasid_table_invalidate inv = {
		.type = IOMMU_PASID_TABLE_INV_IOTLB_RANGE,
		.flags = IOMMU_PASID_TABLE_INV_LEAF,
		.asid = GUEST_ASID,
		.addr = INV_IOVA,
		.granule_size = granule,
		.nb_granules = nb,
	};
	struct span s = { name, "range", granule * nb / SZ_4K, nb, 1 };

	mark(name);
	kcount_clear();
	counted(&s, invalidate(&inv, 1));
}

static void measure_type(const char *name, __u32 type)
{
	struct iommu_pasid_table_invalidate inv = { .type = type };
	struct span s = { name, "type", 0, 0, 1 };

	if (type == IOMMU_PASID_TABLE_INV_IOTLB_ASID)
		inv.asid = GUEST_ASID;
	mark(name);
	kcount_clear();
	counted(&s, invalidate(&inv, 1));
}

/* @n one-page entries at different addresses, in one call */
static struct iommu_pasid_table_invalidate *page_entries(unsigned int n)
{
	struct iommu_pasid_table_invalidate *inv = calloc(n, sizeof(*inv));
	unsigned int i;

	if (!inv)
		bail("calloc");
	for (i = 0; i < n; i++) {
		inv[i].type = IOMMU_PASID_TABLE_INV_IOTLB_RANGE;
		inv[i].flags = IOMMU_PASID_TABLE_INV_LEAF;
		inv[i].asid = GUEST_ASID;
		inv[i].addr = INV_IOVA + 2 * i * SZ_4K;
		inv[i].granule_size = SZ_4K;
		inv[i].nb_granules = 1;
	}
	return inv;
}

static void measure_batch(const char *name, unsigned int n)
{
	struct iommu_pasid_table_invalidate *inv = page_entries(n);
	struct span s = { name, "batch", n, n, n };

	mark(name);
	kcount_clear();
	counted(&s, invalidate(inv, n));
	free(inv);
}

static void measure_transition(const char *name, __u32 flags, __u32 config,
			       __u64 base)
{
	struct span s = { name, "transition", 0, 0, 0 };

	mark(name);
	kcount_clear();
	counted(&s, set_table(flags, config, base));
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
	struct iommu_pasid_table_invalidate *batch = page_entries(64);
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

static int open_vfio_cdev(void)
{
	char path[300];
	struct dirent *ent;
	int fd = -1;
	DIR *dir = opendir("/dev/vfio/devices");

	if (!dir)
		return -1;
	while (fd < 0 && (ent = readdir(dir))) {
		if (strncmp(ent->d_name, "vfio", 4))
			continue;
		snprintf(path, sizeof(path), "/dev/vfio/devices/%s",
			 ent->d_name);
		fd = open(path, O_RDWR);
	}
	closedir(dir);
	return fd;
}

/* The VMM's side: guest RAM in stage 2, a nest parent, the device on it */
static bool setup(void)
{
	struct vfio_device_bind_iommufd bind = { .argsz = sizeof(bind) };
	struct vfio_device_attach_iommufd_pt attach = {
		.argsz = sizeof(attach),
	};
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

	devfd = open_vfio_cdev();
	iommufd = open("/dev/iommu", O_RDWR);
	if (devfd < 0 || iommufd < 0)
		bail("open the VFIO cdev and /dev/iommu");
	bind.iommufd = iommufd;
	if (ioctl(devfd, VFIO_DEVICE_BIND_IOMMUFD, &bind))
		bail("VFIO_DEVICE_BIND_IOMMUFD");
	dev_id = bind.out_devid;
	hw.dev_id = dev_id;
	if (ioctl(iommufd, IOMMU_GET_HW_INFO, &hw))
		bail("IOMMU_GET_HW_INFO");
	if (hw.out_data_type != IOMMU_HW_INFO_TYPE_ARM_SMMUV3 ||
	    !(info.flags & IOMMU_HW_INFO_ARM_SMMUV3_NESTING))
		return false;

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
		bail("IOMMU_HWPT_ALLOC");
	hwpt_id = hwpt.out_hwpt_id;
	attach.pt_id = hwpt_id;
	if (ioctl(devfd, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach))
		bail("VFIO_DEVICE_ATTACH_IOMMUFD_PT");
	return true;
}

int main(int argc, char **argv)
{
	unsigned int iters = argc > 1 ? atoi(argv[1]) : 500;

	printf("TAP version 13\n");
	if (!setup()) {
		printf("1..0 # SKIP the SMMU does not translate both stages\n");
		return 4;
	}
	kprobe_setup();

	/* The transitions, from stage 2 alone */
	measure_transition("s2_to_nested", 0, IOMMU_PASID_CONFIG_TRANSLATE,
			   GUEST_IPA + CD_OFF);
	measure_transition("nested_to_s2", 0, 0, 0);
	measure_transition("s2_to_nested_again", 0,
			   IOMMU_PASID_CONFIG_TRANSLATE, GUEST_IPA + CD_OFF);
	measure_transition("nested_to_abort", IOMMU_HWPT_PASID_TABLE_REPLACE,
			   IOMMU_PASID_CONFIG_ABORT, 0);
	measure_transition("abort_to_nested", IOMMU_HWPT_PASID_TABLE_REPLACE,
			   IOMMU_PASID_CONFIG_TRANSLATE, GUEST_IPA + CD_OFF);
	measure_transition("cdtab_change", IOMMU_HWPT_PASID_TABLE_REPLACE,
			   IOMMU_PASID_CONFIG_TRANSLATE, GUEST_IPA + CD_OFF_2);

	/* Ranges of 4K pages at a 1G-aligned IOVA, then 2M blocks */
	measure_range("pages_1", SZ_4K, 1);
	measure_range("pages_16", SZ_4K, 16);
	measure_range("pages_512", SZ_4K, 512);
	measure_range("pages_262144", SZ_4K, 262144);
	measure_range("pages_3", SZ_4K, 3);
	measure_range("pages_1000", SZ_4K, 1000);
	measure_range("pages_262143", SZ_4K, 262143);
	measure_range("blocks_2M_1", SZ_2M, 1);
	measure_range("blocks_2M_16", SZ_2M, 16);
	measure_range("blocks_2M_512", SZ_2M, 512);
	measure_type("asid", IOMMU_PASID_TABLE_INV_IOTLB_ASID);
	measure_type("all", IOMMU_PASID_TABLE_INV_IOTLB_ALL);
	measure_type("pasid", IOMMU_PASID_TABLE_INV_PASID);
	measure_type("pasid_all", IOMMU_PASID_TABLE_INV_PASID_ALL);

	/* Batches of one-page entries in one call */
	measure_batch("batch_1", 1);
	measure_batch("batch_8", 8);
	measure_batch("batch_64", 64);
	measure_batch("batch_512", 512);

	timings(iters);
	mark("end");
	printf("1..%u\n", tap);
	return failed;
}
