// SPDX-License-Identifier: GPL-2.0
/*
 * l3_edu: drive QEMU's edu device (PCI 1234:11e8) through VFIO type1 (the
 * API Debian's stock kernel has: no iommufd there), in whatever kernel
 * runs it: L2 behind its vSMMUv3, or L1 behind L0's SMMUv3.
 *
 *   l3_edu BDF
 *   l3_edu --bar BDF IOVA
 *
 * The device must already be bound to vfio-pci. DMAs, each polled with a
 * deadline:
 *   1. mapped:   RAM (IOVA A, pattern P1) -> edu buffer -> RAM (IOVA B);
 *                B must then hold P1: DMA landed where the mapping says.
 *   2. stale:    IOVA C mapped to a canary page; edu -> C (P1 lands, and
 *                the IOMMU caches the translation); C unmapped (the kernel
 *                invalidates the IOTLB, in L2 through its vSMMU); the edu
 *                buffer reloaded with P2 from A; edu -> C again. The DMA must
 *                fault and the canary still hold P1: the unmap reached the
 *                hardware's TLB.
 *   3. never:    RAM at an IOVA never mapped -> edu buffer (64 bytes, which
 *                keeps the number of events the SMMU records small); the
 *                IOMMU refuses it and the kernel logs translation events.
 * Exit status 3: VFIO could not take the group (VFIO_GROUP_SET_CONTAINER).
 * With --bar, the device is driven through its sysfs BAR and config space,
 * without VFIO (nothing attaches it to a domain): bus mastering on, one
 * 64-byte DMA from the edu buffer to IOVA, bus mastering restored. In L1,
 * after L2's VMM is gone, it shows where the device's DMA goes then: the
 * IOVA that L2's mapping gave it must reach nothing (L0's SMMU records a
 * fault, no translation).
 * Output: "l2: edu ..." lines (the prefix names the level that runs it
 * by default; L3_EDU_PREFIX overrides it).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <linux/vfio.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define EDU_ID		0x00
#define EDU_DMA_SRC	0x80
#define EDU_DMA_DST	0x88
#define EDU_DMA_CNT	0x90
#define EDU_DMA_CMD	0x98
#define EDU_CMD_START	0x1
#define EDU_CMD_TO_RAM	0x2
#define EDU_BUF		0x40000

/* IOVAs below edu's default 28-bit DMA mask and away from the SW_MSI
 * window (0x8000000). */
#define IOVA_SRC	0x100000ull
#define IOVA_DST	0x200000ull
#define IOVA_CANARY	0x300000ull
#define IOVA_NEVER	0x4000000ull
#define LEN		4096	/* edu's buffer: the bytes each DMA moves */

/* What is mapped for each buffer: LEN, or a page where pages are larger
 * (a 16K or 64K host maps no less than a page). */
static size_t maplen;

static const char *prefix = "l2";
static volatile uint8_t *bar;

static void out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void out(const char *fmt, ...)
{
	va_list ap;

	printf("%s: edu ", prefix);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint32_t rd32(unsigned int off)
{
	return *(volatile uint32_t *)(bar + off);
}

static void wr64(unsigned int off, uint64_t v)
{
	*(volatile uint64_t *)(bar + off) = v;
}

/* One DMA; 0 once the device is done, -1 past the deadline. */
static int dma(uint64_t src, uint64_t dst, uint64_t len, int to_ram,
	       double *secs)
{
	double t0 = now(), deadline = t0 + 5.0;

	wr64(EDU_DMA_SRC, src);
	wr64(EDU_DMA_DST, dst);
	wr64(EDU_DMA_CNT, len);
	wr64(EDU_DMA_CMD, EDU_CMD_START | (to_ram ? EDU_CMD_TO_RAM : 0));
	while (rd32(EDU_DMA_CMD) & EDU_CMD_START) {
		if (now() > deadline)
			return -1;
		usleep(1000);
	}
	*secs = now() - t0;
	return 0;
}

static int map(int container, void *vaddr, uint64_t iova, uint64_t len)
{
	struct vfio_iommu_type1_dma_map m = {
		.argsz = sizeof(m),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.vaddr = (uintptr_t)vaddr,
		.iova = iova,
		.size = len,
	};

	return ioctl(container, VFIO_IOMMU_MAP_DMA, &m);
}

static int unmap(int container, uint64_t iova, uint64_t len)
{
	struct vfio_iommu_type1_dma_unmap u = {
		.argsz = sizeof(u),
		.iova = iova,
		.size = len,
	};

	return ioctl(container, VFIO_IOMMU_UNMAP_DMA, &u) || u.size != len ? -1 : 0;
}

/* One DMA, edu buffer -> IOVA, through the sysfs BAR and config space. */
static int bar_dma(const char *bdf, uint64_t iova)
{
	char path[PATH_MAX];
	uint16_t cmd, on;
	uint32_t id;
	double secs;
	int res, cfg, rc;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/resource0", bdf);
	res = open(path, O_RDWR | O_SYNC);
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/config", bdf);
	cfg = open(path, O_RDWR);
	if (res < 0 || cfg < 0) {
		out("bar result=fail step=open errno=%d", errno);
		return 1;
	}
	bar = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_SHARED, res, 0);
	if (bar == MAP_FAILED || pread(cfg, &cmd, 2, 4) != 2) {
		out("bar result=fail step=map errno=%d", errno);
		return 1;
	}
	on = cmd | 0x6;		/* memory space, bus master */
	if (pwrite(cfg, &on, 2, 4) != 2) {
		out("bar result=fail step=bus-master errno=%d", errno);
		return 1;
	}
	id = rd32(EDU_ID);
	rc = dma(EDU_BUF, iova, 64, 1, &secs);
	if (pwrite(cfg, &cmd, 2, 4) != 2)
		rc = -1;
	out("bar bdf=%s id=0x%08x iova=0x%" PRIx64 " bytes=64 done=%d seconds=%.3f",
	    bdf, id, iova, !rc, rc ? 0 : secs);
	return rc ? 1 : 0;
}

int main(int argc, char **argv)
{
	char path[PATH_MAX], link[PATH_MAX];
	struct vfio_group_status gs = { .argsz = sizeof(gs) };
	struct vfio_region_info reg = { .argsz = sizeof(reg) };
	uint8_t *src, *dst, *canary;
	int container, group, dev, n, group_id, landed, first, kept, ok;
	uint16_t cmd;
	double secs;
	ssize_t len;
	long page;

	if (getenv("L3_EDU_PREFIX"))
		prefix = getenv("L3_EDU_PREFIX");
	page = sysconf(_SC_PAGESIZE);
	maplen = page > LEN ? (size_t)page : LEN;
	if (argc == 4 && !strcmp(argv[1], "--bar"))
		return bar_dma(argv[2], strtoull(argv[3], NULL, 0));
	if (argc != 2) {
		fprintf(stderr, "usage: %s BDF | --bar BDF IOVA\n", argv[0]);
		return 2;
	}

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/iommu_group", argv[1]);
	len = readlink(path, link, sizeof(link) - 1);
	if (len < 0) {
		out("result=skip reason=no-iommu-group bdf=%s errno=%d", argv[1], errno);
		return 0;
	}
	link[len] = 0;
	group_id = atoi(basename(link));

	container = open("/dev/vfio/vfio", O_RDWR);
	if (container < 0 || ioctl(container, VFIO_GET_API_VERSION) != VFIO_API_VERSION ||
	    !ioctl(container, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU)) {
		out("result=fail step=container errno=%d", errno);
		return 1;
	}
	snprintf(path, sizeof(path), "/dev/vfio/%d", group_id);
	group = open(path, O_RDWR);
	if (group < 0 || ioctl(group, VFIO_GROUP_GET_STATUS, &gs) ||
	    !(gs.flags & VFIO_GROUP_FLAGS_VIABLE)) {
		out("result=fail step=group group=%d errno=%d", group_id, errno);
		return 1;
	}
	/* VFIO takes the group from the kernel's DMA API here (its domain
	 * becomes a blocking one until VFIO_SET_IOMMU): exit status 3 says
	 * that this was refused. */
	if (ioctl(group, VFIO_GROUP_SET_CONTAINER, &container)) {
		out("result=fail step=set-container errno=%d", errno);
		return 3;
	}
	if (ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU)) {
		out("result=fail step=set-iommu errno=%d", errno);
		return 1;
	}
	dev = ioctl(group, VFIO_GROUP_GET_DEVICE_FD, argv[1]);
	if (dev < 0) {
		out("result=fail step=device-fd errno=%d", errno);
		return 1;
	}
	reg.index = VFIO_PCI_BAR0_REGION_INDEX;
	if (ioctl(dev, VFIO_DEVICE_GET_REGION_INFO, &reg) ||
	    !(reg.flags & VFIO_REGION_INFO_FLAG_MMAP)) {
		out("result=fail step=bar0-info errno=%d", errno);
		return 1;
	}
	bar = mmap(NULL, reg.size, PROT_READ | PROT_WRITE, MAP_SHARED, dev,
		   (off_t)reg.offset);
	if (bar == MAP_FAILED) {
		out("result=fail step=bar0-mmap errno=%d", errno);
		return 1;
	}
	/* Bus mastering, through the config space region. */
	reg.index = VFIO_PCI_CONFIG_REGION_INDEX;
	if (ioctl(dev, VFIO_DEVICE_GET_REGION_INFO, &reg) ||
	    pread(dev, &cmd, 2, (off_t)reg.offset + 4) != 2) {
		out("result=fail step=config errno=%d", errno);
		return 1;
	}
	cmd |= 0x4;
	if (pwrite(dev, &cmd, 2, (off_t)reg.offset + 4) != 2) {
		out("result=fail step=bus-master errno=%d", errno);
		return 1;
	}
	out("bound bdf=%s group=%d id=0x%08x", argv[1], group_id, rd32(EDU_ID));

	src = mmap(NULL, maplen, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	dst = mmap(NULL, maplen, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	canary = mmap(NULL, maplen, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (src == MAP_FAILED || dst == MAP_FAILED || canary == MAP_FAILED) {
		out("result=fail step=alloc");
		return 1;
	}
	for (n = 0; n < LEN; n++)
		src[n] = (uint8_t)(n * 7 + 3);
	memset(dst, 0, LEN);
	if (map(container, src, IOVA_SRC, maplen) || map(container, dst, IOVA_DST, maplen)) {
		out("result=fail step=map errno=%d", errno);
		return 1;
	}

	/* 1. mapped: src -> edu -> dst */
	if (dma(IOVA_SRC, EDU_BUF, LEN, 0, &secs) ||
	    dma(EDU_BUF, IOVA_DST, LEN, 1, &secs)) {
		out("result=fail step=mapped-dma reason=timeout");
		return 1;
	}
	landed = memcmp(src, dst, LEN) == 0;
	out("mapped src_iova=0x%" PRIx64 " dst_iova=0x%" PRIx64 " bytes=%d landed=%d seconds=%.3f",
	    (uint64_t)IOVA_SRC, (uint64_t)IOVA_DST, LEN, landed, secs);

	/* 2. stale: a translation used, then unmapped, must be gone */
	memset(canary, 0, LEN);
	if (map(container, canary, IOVA_CANARY, maplen) ||
	    dma(EDU_BUF, IOVA_CANARY, LEN, 1, &secs)) {
		out("result=fail step=canary-dma errno=%d", errno);
		return 1;
	}
	first = memcmp(src, canary, LEN) == 0;
	if (unmap(container, IOVA_CANARY, maplen)) {
		out("result=fail step=unmap errno=%d", errno);
		return 1;
	}
	for (n = 0; n < LEN; n++)
		src[n] = (uint8_t)~src[n];
	if (dma(IOVA_SRC, EDU_BUF, LEN, 0, &secs) ||
	    dma(EDU_BUF, IOVA_CANARY, LEN, 1, &secs)) {
		out("result=fail step=stale-dma reason=timeout");
		return 1;
	}
	/* the canary must still hold P1, the complement of src now */
	for (n = 0, kept = 0; n < LEN; n++)
		kept += (canary[n] ^ src[n]) == 0xff;
	out("stale iova=0x%" PRIx64 " bytes=%d before_unmap_landed=%d after_unmap_reached=%d",
	    (uint64_t)IOVA_CANARY, LEN, first, kept != LEN);

	/* 3. never mapped */
	if (dma(IOVA_NEVER, EDU_BUF, 64, 0, &secs)) {
		out("result=fail step=never-dma reason=timeout");
		return 1;
	}
	out("never iova=0x%" PRIx64 " bytes=64 done=1 seconds=%.3f",
	    (uint64_t)IOVA_NEVER, secs);

	ok = landed && first && kept == LEN;
	out("result=%s", ok ? "pass" : "fail");
	return ok ? 0 : 1;
}
