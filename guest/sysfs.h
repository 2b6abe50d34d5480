/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the test machine's guest programs (guest/nest_bench.c,
 * guest/dma_bench.c) read from sysfs.
 */
#ifndef WB_GUEST_SYSFS_H
#define WB_GUEST_SYSFS_H

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

/* A sysfs file's hexadecimal number (a PCI vendor, device...); 0 if read. */
static inline int sysfs_read_hex(const char *path, unsigned long *val)
{
	char buf[32];
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	*val = strtoul(buf, NULL, 16);
	return 0;
}

#endif
