// SPDX-License-Identifier: GPL-2.0
/*
 * l3_disk: the three-level machine's disk workload, run in L2 on the NVMe
 * that L0 emulates and L1 assigns.
 *
 *   l3_disk DEVICE OFF_MIB MIB SEED HOST_OFF_MIB HOST_MIB HOST_SEED
 *
 * 1. reads HOST_MIB MiB at HOST_OFF_MIB MiB, which the x86 host seeded with
 *    HOST_SEED before the run, and verifies them (device -> memory DMA of
 *    data nobody in the guest wrote);
 * 2. writes MIB MiB at OFF_MIB MiB, seeded with SEED, with O_DIRECT so
 *    every request is DMA from the buffer, then fsync;
 * 3. reads them back with O_DIRECT into a buffer that was poisoned first,
 *    and verifies every 64-bit word.
 * The x86 host checks the image afterwards with the same pattern.
 *
 * Word i (counted from the start of the disk) of a region seeded with S is
 * mix(S ^ i), mix being splitmix64's finaliser, so a word written to or
 * read from the wrong place never passes.
 *
 * Output: one "l2: disk ..." line per phase, key=value pairs.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define CHUNK (1u << 20)

static uint64_t mix(uint64_t z)
{
	z += 0x9e3779b97f4a7c15ull;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void fill(uint64_t *buf, uint64_t first_word, uint64_t seed)
{
	for (size_t i = 0; i < CHUNK / 8; i++)
		buf[i] = mix(seed ^ (first_word + i));
}

/* Mismatching words in buf; the first one's disk offset in *first. */
static uint64_t check(const uint64_t *buf, uint64_t first_word, uint64_t seed,
		      int64_t *first)
{
	uint64_t bad = 0;

	for (size_t i = 0; i < CHUNK / 8; i++) {
		if (buf[i] == mix(seed ^ (first_word + i)))
			continue;
		if (!bad && *first < 0)
			*first = (int64_t)((first_word + i) * 8);
		bad++;
	}
	return bad;
}

static int xfer(int fd, void *buf, uint64_t off, int write)
{
	ssize_t n = write ? pwrite(fd, buf, CHUNK, (off_t)off) :
			    pread(fd, buf, CHUNK, (off_t)off);

	if (n != CHUNK) {
		printf("l2: disk error op=%s offset=%" PRIu64 " ret=%zd errno=%d\n",
		       write ? "write" : "read", off, n, n < 0 ? errno : 0);
		return -1;
	}
	return 0;
}

/* Read and verify MIB MiB at OFF_MIB MiB seeded with SEED. */
static int verify(int fd, const char *what, uint64_t off_mib, uint64_t mib,
		  uint64_t seed, uint64_t *buf)
{
	uint64_t bad = 0;
	int64_t first = -1;
	double t0 = now(), dt;

	for (uint64_t m = off_mib; m < off_mib + mib; m++) {
		memset(buf, 0xa5, CHUNK);
		if (xfer(fd, buf, m * CHUNK, 0))
			return -1;
		bad += check(buf, m * CHUNK / 8, seed, &first);
	}
	dt = now() - t0;
	printf("l2: disk %s bytes=%" PRIu64 " mismatches=%" PRIu64
	       " first_bad=%" PRId64 " seconds=%.3f mib_s=%.1f\n", what,
	       mib * CHUNK, bad, first, dt, mib / dt);
	return bad ? 1 : 0;
}

int main(int argc, char **argv)
{
	uint64_t off, mib, seed, host_off, host_mib, host_seed, *buf;
	double t0, dt;
	int fd, rc = 0;

	if (argc != 8) {
		fprintf(stderr, "usage: %s DEVICE OFF_MIB MIB SEED HOST_OFF_MIB "
			"HOST_MIB HOST_SEED\n", argv[0]);
		return 2;
	}
	off = strtoull(argv[2], NULL, 0);
	mib = strtoull(argv[3], NULL, 0);
	seed = strtoull(argv[4], NULL, 0);
	host_off = strtoull(argv[5], NULL, 0);
	host_mib = strtoull(argv[6], NULL, 0);
	host_seed = strtoull(argv[7], NULL, 0);
	fd = open(argv[1], O_RDWR | O_DIRECT);
	if (fd < 0) {
		printf("l2: disk error op=open device=%s errno=%d\n", argv[1], errno);
		return 1;
	}
	if (posix_memalign((void **)&buf, 4096, CHUNK)) {
		printf("l2: disk error op=alloc\n");
		return 1;
	}

	if (host_mib)
		rc |= verify(fd, "host-seeded", host_off, host_mib, host_seed, buf);

	t0 = now();
	for (uint64_t m = off; m < off + mib; m++) {
		fill(buf, m * CHUNK / 8, seed);
		if (xfer(fd, buf, m * CHUNK, 1))
			return 1;
	}
	if (fsync(fd)) {
		printf("l2: disk error op=fsync errno=%d\n", errno);
		return 1;
	}
	dt = now() - t0;
	printf("l2: disk write offset_mib=%" PRIu64 " bytes=%" PRIu64
	       " seed=0x%" PRIx64 " seconds=%.3f mib_s=%.1f\n",
	       off, mib * CHUNK, seed, dt, mib / dt);

	rc |= verify(fd, "readback", off, mib, seed, buf);
	close(fd);
	printf("l2: disk done rc=%d\n", rc);
	return rc;
}
