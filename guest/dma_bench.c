// SPDX-License-Identifier: GPL-2.0
/*
 * dma_bench: the DMA API's own map/unmap benchmark (kernel/dma/map_benchmark.c,
 * CONFIG_DMA_MAP_BENCHMARK) on the test machine, for make bench's "no cost
 * for hosts that do not nest": the same guest run on the base kernel and on
 * the series (scripts/bench-dma.sh), strict DMA through the machine's SMMUv3
 * (stage 1, the kernel's own DMA domain: every unmap an invalidation).
 *
 * Binds the last edu device (1234:11e8) to the dma_map_benchmark driver
 * (driver_override), then asks /sys/kernel/debug/dma_map_benchmark for
 * ROUNDS runs of SECONDS seconds each, one thread, 32-bit DMA, both
 * directions, one page a map. Prints TAP, one case per run, and a line
 *   # dma_bench: round=R granule=1 map_100ns=M map_stddev=S unmap_100ns=U unmap_stddev=V
 * per run (the averages in units of 100 ns, as the kernel gives them).
 *   dma_bench [ROUNDS [SECONDS]]        (default 5 rounds of 2 s)
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sysfs.h"

/* The kernel's interface (include/linux/map_benchmark.h of the base). */
struct map_benchmark {
	uint64_t avg_map_100ns;
	uint64_t map_stddev;
	uint64_t avg_unmap_100ns;
	uint64_t unmap_stddev;
	uint32_t threads;
	uint32_t seconds;
	int32_t node;
	uint32_t dma_bits;
	uint32_t dma_dir;
	uint32_t dma_trans_ns;
	uint32_t granule;
	uint8_t expansion[76];
};

#define DMA_MAP_BENCHMARK _IOWR('d', 1, struct map_benchmark)
#define DEBUGFS_FILE "/sys/kernel/debug/dma_map_benchmark"
#define PCI "/sys/bus/pci/devices"

static int write_str(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY), rc = 0;

	if (fd < 0)
		return -1;
	if (write(fd, s, strlen(s)) != (ssize_t)strlen(s))
		rc = -1;
	close(fd);
	return rc;
}

/* A PCI device's sysfs attribute, a hexadecimal number; 0 if read. */
static int read_attr(const char *dev, const char *attr, unsigned long *v)
{
	char path[512];

	snprintf(path, sizeof(path), PCI "/%s/%s", dev, attr);
	return sysfs_read_hex(path, v);
}

/* The last edu device, by address; 0 if found. */
static int find_edu(char *out, size_t len)
{
	struct dirent *e;
	unsigned long ven, dev;
	DIR *d = opendir(PCI);
	int found = -1;

	if (!d)
		return -1;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		if (read_attr(e->d_name, "vendor", &ven) || read_attr(e->d_name, "device", &dev))
			continue;
		if (ven == 0x1234 && dev == 0x11e8 &&
		    (found || strcmp(e->d_name, out) > 0)) {
			snprintf(out, len, "%s", e->d_name);
			found = 0;
		}
	}
	closedir(d);
	return found;
}

static int bind(const char *dev)
{
	char path[512];

	snprintf(path, sizeof(path), PCI "/%s/driver/unbind", dev);
	write_str(path, dev);	/* no driver: nothing to unbind */
	snprintf(path, sizeof(path), PCI "/%s/driver_override", dev);
	if (write_str(path, "dma_map_benchmark"))
		return -1;
	if (write_str("/sys/bus/pci/drivers_probe", dev))
		return -1;
	return access(DEBUGFS_FILE, R_OK);
}

int main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 5;
	int secs = argc > 2 ? atoi(argv[2]) : 2;
	char dev[256] = "";
	int fd, r, bad = 0;

	printf("TAP version 13\n1..%d\n", rounds);
	mkdir("/sys/kernel/debug", 0755);
	mount("debugfs", "/sys/kernel/debug", "debugfs", 0, NULL);
	if (find_edu(dev, sizeof(dev)) || bind(dev)) {
		for (r = 1; r <= rounds; r++)
			printf("not ok %d dma_bench.round%d # no edu bound to dma_map_benchmark "
			       "(%s, errno %d: a kernel without CONFIG_DMA_MAP_BENCHMARK?)\n",
			       r, r, dev[0] ? dev : "none", errno);
		return 1;
	}
	fd = open(DEBUGFS_FILE, O_RDWR);
	if (fd < 0) {
		printf("Bail out! open %s: errno %d\n", DEBUGFS_FILE, errno);
		return 1;
	}
	printf("# dma_bench: device=%s threads=1 seconds=%d dma_bits=32 dir=bidirectional granule=1\n",
	       dev, secs);
	for (r = 1; r <= rounds; r++) {
		struct map_benchmark mb = {
			.threads = 1, .seconds = secs, .node = -1, .dma_bits = 32,
			.dma_dir = 0, .granule = 1,
		};

		if (ioctl(fd, DMA_MAP_BENCHMARK, &mb)) {
			printf("not ok %d dma_bench.round%d # ioctl errno %d\n", r, r, errno);
			bad = 1;
			continue;
		}
		printf("# dma_bench: round=%d granule=1 map_100ns=%llu map_stddev=%llu "
		       "unmap_100ns=%llu unmap_stddev=%llu\n", r,
		       (unsigned long long)mb.avg_map_100ns, (unsigned long long)mb.map_stddev,
		       (unsigned long long)mb.avg_unmap_100ns,
		       (unsigned long long)mb.unmap_stddev);
		printf("ok %d dma_bench.round%d\n", r, r);
	}
	close(fd);
	return bad;
}
