// SPDX-License-Identifier: GPL-2.0
/*
 * l3_disk: the three-level machine's disk workload, run in L2 on the NVMe
 * that L0 emulates and L1 assigns; built for the x86 host too, which seeds
 * and checks the disk image with the same pattern.
 *
 *   l3_disk run DEVICE OFF_MIB MIB SEED HOST_OFF_MIB HOST_MIB HOST_SEED
 *   l3_disk check DEVICE OFF_MIB MIB SEED   (L2: verify a region written
 *                                            before, e.g. before a reboot)
 *   l3_disk write FILE OFF_MIB MIB SEED     (host: seed a region)
 *   l3_disk verify FILE OFF_MIB MIB SEED    (host: check a region)
 *
 * "run" (in L2):
 * 1. reads HOST_MIB MiB at HOST_OFF_MIB MiB, which the x86 host seeded with
 *    HOST_SEED before the run, and verifies them (device -> memory DMA of
 *    data nobody in the guest wrote);
 * 2. writes MIB MiB at OFF_MIB MiB, seeded with SEED, with O_DIRECT so
 *    every request is DMA from the buffer, then fsync;
 * 3. reads them back with O_DIRECT into a buffer that was poisoned first,
 *    and verifies every 64-bit word.
 *
 * Word i (counted from the start of the disk) of a region seeded with S is
 * mix(S ^ i), mix being splitmix64's finaliser, so a word written to or
 * read from the wrong place never passes.
 *
 * Output: one "l2: disk ..." line per phase ("host: disk ..." for write and
 * verify), key=value pairs; "l2: disk workload-start" just before step 2.
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

static const char *prefix = "l2";

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
		printf("%s: disk error op=%s offset=%" PRIu64 " ret=%zd errno=%d\n",
		       prefix, write ? "write" : "read", off, n, n < 0 ? errno : 0);
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
	printf("%s: disk %s offset_mib=%" PRIu64 " bytes=%" PRIu64
	       " mismatches=%" PRIu64 " first_bad=%" PRId64
	       " seconds=%.3f mib_s=%.1f\n", prefix, what, off_mib,
	       mib * CHUNK, bad, first, dt, mib / dt);
	return bad ? 1 : 0;
}

static int write_region(int fd, uint64_t off, uint64_t mib, uint64_t seed,
			uint64_t *buf)
{
	double t0 = now(), dt;

	for (uint64_t m = off; m < off + mib; m++) {
		fill(buf, m * CHUNK / 8, seed);
		if (xfer(fd, buf, m * CHUNK, 1))
			return -1;
	}
	if (fsync(fd)) {
		printf("%s: disk error op=fsync errno=%d\n", prefix, errno);
		return -1;
	}
	dt = now() - t0;
	printf("%s: disk write offset_mib=%" PRIu64 " bytes=%" PRIu64
	       " seed=0x%" PRIx64 " seconds=%.3f mib_s=%.1f\n",
	       prefix, off, mib * CHUNK, seed, dt, mib / dt);
	return 0;
}

int main(int argc, char **argv)
{
	uint64_t off, mib, seed, *buf;
	int fd, rc = 0, run, chk;

	run = argc == 9 && !strcmp(argv[1], "run");
	chk = argc == 6 && !strcmp(argv[1], "check");
	if (!run && !chk && !(argc == 6 && (!strcmp(argv[1], "write") ||
					    !strcmp(argv[1], "verify")))) {
		fprintf(stderr, "usage: %s run DEVICE OFF_MIB MIB SEED HOST_OFF_MIB "
			"HOST_MIB HOST_SEED\n       %s check DEVICE OFF_MIB MIB "
			"SEED\n       %s write|verify FILE OFF_MIB MIB SEED\n",
			argv[0], argv[0], argv[0]);
		return 2;
	}
	if (!run && !chk)
		prefix = "host";
	off = strtoull(argv[3], NULL, 0);
	mib = strtoull(argv[4], NULL, 0);
	seed = strtoull(argv[5], NULL, 0);
	fd = open(argv[2], O_RDWR | (run || chk ? O_DIRECT : 0));
	if (fd < 0) {
		printf("%s: disk error op=open device=%s errno=%d\n", prefix,
		       argv[2], errno);
		return 1;
	}
	if (posix_memalign((void **)&buf, 4096, CHUNK)) {
		printf("%s: disk error op=alloc\n", prefix);
		return 1;
	}
	if (!strcmp(argv[1], "write"))
		return write_region(fd, off, mib, seed, buf) ? 1 : 0;
	if (!strcmp(argv[1], "verify"))
		return verify(fd, "verify", off, mib, seed, buf) ? 1 : 0;
	if (chk)
		return verify(fd, "check", off, mib, seed, buf) ? 1 : 0;

	if (strtoull(argv[7], NULL, 0))
		rc |= verify(fd, "host-seeded", strtoull(argv[6], NULL, 0),
			     strtoull(argv[7], NULL, 0), strtoull(argv[8], NULL, 0), buf);
	/* Marks where the write/read workload starts in the VMM's trace,
	 * which records the console's bytes (pl011_write) among the guest's
	 * commands. */
	printf("l2: disk workload-start offset_mib=%" PRIu64 " mib=%" PRIu64 "\n",
	       off, mib);
	fflush(stdout);
	if (write_region(fd, off, mib, seed, buf))
		return 1;
	rc |= verify(fd, "readback", off, mib, seed, buf);
	close(fd);
	printf("l2: disk done rc=%d\n", rc);
	return rc;
}
