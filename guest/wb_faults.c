// SPDX-License-Identifier: GPL-2.0
/*
 * The workbench's own end-to-end test: a guest program whose run must make
 * the verdict FAIL, once for each fault it injects (scripts/check.sh, step
 * "workbench:e2e", asserts that each one is reported by name):
 *   1 warning_inside_output  a "WARNING:" in the kernel log, logged while
 *                            the case prints its lines; the case itself
 *                            reports "ok"
 *   2 unexpected_skip        "ok ... # SKIP" with a reason no boot expects
 *   3 hung                   never ends: /init kills it at its deadline
 * Its output is kselftest-harness-like TAP.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void kernel_log(const char *msg)
{
	int fd = open("/dev/kmsg", O_WRONLY);

	if (fd < 0 || write(fd, msg, strlen(msg)) < 0)
		printf("# cannot write to /dev/kmsg\n");
	if (fd >= 0)
		close(fd);
}

/*
 * Wait until /init has copied LINES lines of this program's output to the
 * console (it counts them in /tmp/.wb-lines), 10 s at most: the kernel's
 * message then comes after them, whatever the machine's speed.
 */
static void copied(unsigned long lines)
{
	struct timespec tick = { .tv_nsec = 1000000 };
	char buf[32];
	int i, fd;

	for (i = 0; i < 10000; i++) {
		fd = open("/tmp/.wb-lines", O_RDONLY);
		if (fd >= 0) {
			ssize_t n = read(fd, buf, sizeof(buf) - 1);

			close(fd);
			if (n > 0) {
				buf[n] = '\0';
				if (strtoul(buf, NULL, 10) >= lines)
					return;
			}
		}
		nanosleep(&tick, NULL);
	}
	printf("# /init did not copy %lu lines in 10 s\n", lines);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("TAP version 13\n1..3\n");

	printf("#  RUN           wb_faults.warning_inside_output ...\n");
	printf("# story: a line before the kernel's message\n");
	copied(4);
	kernel_log("<4>WARNING: CPU: 0 PID: 1 at wb_faults.c:1 injected by the workbench\n");
	printf("# story: a line after it\n");
	printf("#            OK  wb_faults.warning_inside_output\n");
	printf("ok 1 wb_faults.warning_inside_output\n");

	printf("#  RUN           wb_faults.unexpected_skip ...\n");
	printf("#      SKIP      injected by the workbench\n");
	printf("#            OK  wb_faults.unexpected_skip\n");
	printf("ok 2 wb_faults.unexpected_skip # SKIP injected by the workbench\n");

	printf("#  RUN           wb_faults.hung ...\n");
	for (;;)
		pause();
	return 0;
}
