// SPDX-License-Identifier: GPL-2.0
/*
 * /init of the workbench's test machine.
 *
 * Mounts proc, sys, devtmpfs, devpts, debugfs and tmpfs; binds every edu
 * device (PCI 1234:11e8, found by id) to vfio-pci; runs the test programs
 * named on the kernel command line, each with a deadline; powers off.
 *
 * Kernel command line:
 *   wb.tests=SPEC[,SPEC...]   programs in /bin to run, in order. SPEC is
 *                             PROG[:ARG...][@SECONDS]: arguments follow the
 *                             program after ':' (one argv word each), and
 *                             its deadline after '@'
 *   wb.repeat=N               run that list N times (default 1; make repeat)
 *   wb.timeout=SECONDS        deadline of a program without '@' (default 300)
 *   wb.seed=SEED              passed to the programs as $NESTED_DMA_SEED
 *   wb.gcov=DEVICE            after the tests, write the gcov kernel's
 *                             .gcda files (/sys/kernel/debug/gcov) to
 *                             DEVICE as a cpio archive (make coverage)
 *
 * Each program runs on a pseudo-terminal whose output /init copies to the
 * console line by line; the kernel log (/dev/kmsg) is copied too, each
 * record as "kmsg: [SECONDS] TEXT", between two whole lines of the
 * program's: the records logged until /init read a line come before it.
 * The console itself then only shows emergencies (loglevel 1): kernel
 * messages no longer land in the middle of a program's lines.
 *
 * Everything else the host parses is a line starting with "wb: ":
 *   wb: edu BDF bound to vfio-pci (DEVNODE)
 *   wb: run PROG [ARG...]  wb: end PROG rc=N | signal=N | timeout=SECONDS
 *   wb: kmsg: N record(s) lost
 *   wb: kmemleak: N unreferenced object(s) after the tests (debug kernel)
 *   wb: gcov: N file(s), B byte(s) written to DEVICE (make coverage)
 *   wb: done
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/klog.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define EDU_VENDOR 0x1234
#define EDU_DEVICE 0x11e8
#define PCI_DEVICES "/sys/bus/pci/devices"

static int kmsg_fd = -1;

/*
 * Copy the kernel log records not copied yet to the console, as
 * "kmsg: [SECONDS] TEXT". A record is "PRIO,SEQ,USEC,FLAGS[,...];TEXT\n"
 * and may be followed by " KEY=VALUE" lines, which are dropped.
 */
static void kmsg_drain(void)
{
	static char rec[8192];
	unsigned long long usec;
	unsigned int lost = 0;
	char *text, *end;
	ssize_t n;

	if (kmsg_fd < 0)
		return;
	for (;;) {
		n = read(kmsg_fd, rec, sizeof(rec) - 1);
		if (n < 0 && errno == EPIPE) {
			lost++;
			continue;
		}
		if (n <= 0)
			break;
		rec[n] = '\0';
		text = strchr(rec, ';');
		if (!text || sscanf(rec, "%*u,%*u,%llu", &usec) != 1)
			continue;
		text++;
		end = strchr(text, '\n');
		if (end)
			*end = '\0';
		printf("kmsg: [%5llu.%06llu] %s\n", usec / 1000000, usec % 1000000,
		       text);
	}
	if (lost)
		printf("wb: kmsg: %u record(s) lost\n", lost);
	fflush(stdout);
}

static void say(const char *fmt, ...)
{
	va_list ap;

	kmsg_drain();
	va_start(ap, fmt);
	fputs("wb: ", stdout);
	vprintf(fmt, ap);
	fputc('\n', stdout);
	fflush(stdout);
	va_end(ap);
}

/* snprintf() into a path buffer of PATH_MAX; a truncated path is an error. */
static char *path_fmt(char *buf, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, PATH_MAX, fmt, ap);
	va_end(ap);
	if (n < 0 || n >= PATH_MAX) {
		say("error: path too long: %s", fmt);
		exit(1);
	}
	return buf;
}

static void do_mount(const char *src, const char *dst, const char *type)
{
	mkdir(dst, 0755);
	if (mount(src, dst, type, 0, NULL) && errno != EBUSY)
		say("error: mount %s on %s: %s", type, dst, strerror(errno));
}

static int read_file(const char *path, char *buf, size_t len)
{
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	return 0;
}

static int write_file(const char *path, const char *val)
{
	ssize_t n;
	int fd;

	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = write(fd, val, strlen(val));
	close(fd);
	return n == (ssize_t)strlen(val) ? 0 : -1;
}

static unsigned long read_hex(const char *dir, const char *name)
{
	char path[PATH_MAX], buf[32];

	if (read_file(path_fmt(path, "%s/%s", dir, name), buf, sizeof(buf)))
		return 0;
	return strtoul(buf, NULL, 16);
}

/* Bind one edu device to vfio-pci and report its VFIO cdev. */
static void bind_edu(const char *bdf)
{
	char dir[PATH_MAX], path[PATH_MAX], link[PATH_MAX], node[PATH_MAX] = "";
	struct dirent *de;
	ssize_t n;
	DIR *d;

	path_fmt(dir, PCI_DEVICES "/%s", bdf);
	/* It may have no driver yet: then unbinding fails, which is fine. */
	write_file(path_fmt(path, "%s/driver/unbind", dir), bdf);
	if (write_file(path_fmt(path, "%s/driver_override", dir), "vfio-pci")) {
		say("error: edu %s: driver_override: %s", bdf, strerror(errno));
		return;
	}
	if (write_file("/sys/bus/pci/drivers_probe", bdf)) {
		say("error: edu %s: drivers_probe: %s", bdf, strerror(errno));
		return;
	}
	n = readlink(path_fmt(path, "%s/driver", dir), link, sizeof(link) - 1);
	if (n < 0) {
		say("error: edu %s: no driver bound", bdf);
		return;
	}
	link[n] = '\0';
	if (strcmp(strrchr(link, '/') + 1, "vfio-pci")) {
		say("error: edu %s: bound to %s, not vfio-pci", bdf, link);
		return;
	}
	d = opendir(path_fmt(path, "%s/vfio-dev", dir));
	while (d && (de = readdir(d))) {
		if (!strncmp(de->d_name, "vfio", 4))
			path_fmt(node, "/dev/vfio/devices/%s", de->d_name);
	}
	if (d)
		closedir(d);
	if (!node[0] || access(node, R_OK | W_OK)) {
		say("error: edu %s: no VFIO device cdev", bdf);
		return;
	}
	say("edu %s bound to vfio-pci (%s)", bdf, node);
}

static int bind_all_edu(void)
{
	char dir[PATH_MAX];
	struct dirent *de;
	int found = 0;
	DIR *d;

	d = opendir(PCI_DEVICES);
	if (!d) {
		say("error: no %s", PCI_DEVICES);
		return 0;
	}
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		path_fmt(dir, PCI_DEVICES "/%s", de->d_name);
		if (read_hex(dir, "vendor") != EDU_VENDOR ||
		    read_hex(dir, "device") != EDU_DEVICE)
			continue;
		found++;
		bind_edu(de->d_name);
	}
	closedir(d);
	say("%d edu device(s); /dev/iommu %s", found,
	    access("/dev/iommu", R_OK | W_OK) ? "missing" : "present");
	return found;
}

/* Value of a "key=value" word of the kernel command line, or NULL. */
static char *cmdline_value(const char *cmdline, const char *key)
{
	size_t klen = strlen(key);
	const char *p = cmdline;
	char *val;
	size_t n;

	while (*p) {
		while (*p == ' ')
			p++;
		n = strcspn(p, " ");
		if (n > klen && !strncmp(p, key, klen) && p[klen] == '=') {
			val = strndup(p + klen + 1, n - klen - 1);
			return val;
		}
		p += n;
	}
	return NULL;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/*
 * Copy a program's output from the pty's master to the console, whole lines
 * only, each after the kernel records logged before it was read; then the
 * records logged meanwhile. (/init also wakes up for a new record, but
 * that wake-up is lazy: it may come only with the next line.) The number
 * of lines copied is in /tmp/.wb-lines, for a program that must know its
 * line was copied before it goes on (guest/wb_faults.c).
 */
struct out {
	char buf[4096];
	size_t len;
	unsigned long lines;
};

static void out_emit(struct out *o, int final)
{
	char count[32];
	char *nl;

	while ((nl = memchr(o->buf, '\n', o->len)) || (final && o->len) ||
	       o->len == sizeof(o->buf)) {
		size_t n = nl ? (size_t)(nl - o->buf) : o->len;

		kmsg_drain();
		fwrite(o->buf, 1, n, stdout);
		fputc('\n', stdout);
		if (nl)
			n++;
		memmove(o->buf, o->buf + n, o->len - n);
		o->len -= n;
		o->lines++;
	}
	fflush(stdout);
	snprintf(count, sizeof(count), "%lu\n", o->lines);
	write_file("/tmp/.wb-lines", count);
	kmsg_drain();
}

/*
 * Read what the master has: 1 if it had something, 0 if nothing yet, -1
 * once no slave is open any more (EIO).
 */
static int out_read(int master, struct out *o)
{
	ssize_t n;

	n = read(master, o->buf + o->len, sizeof(o->buf) - o->len);
	if (n > 0) {
		o->len += n;
		out_emit(o, 0);
		return 1;
	}
	return n < 0 && (errno == EAGAIN || errno == EINTR) ? 0 : -1;
}

/* The child: the pty's slave as stdin, stdout and stderr; then exec. */
static void child(int master, const char *path, char **argv)
{
	struct termios tio;
	int slave;

	setsid();
	slave = open(ptsname(master), O_RDWR);
	if (slave < 0)
		_exit(125);
	if (!tcgetattr(slave, &tio)) {
		cfmakeraw(&tio);
		tcsetattr(slave, TCSANOW, &tio);
	}
	dup2(slave, 0);
	dup2(slave, 1);
	dup2(slave, 2);
	close(slave);
	close(master);
	if (chdir("/tmp"))
		_exit(126);
	execv(path, argv);
	printf("wb: error: exec %s: %s\n", path, strerror(errno));
	_exit(127);
}

/*
 * Run one program, SPEC = PROG[:ARG...][@SECONDS], with a deadline (its own,
 * or TIMEOUT); print how it ended. Waits with poll() on the pty, the kernel
 * log and a signalfd for SIGCHLD, until the deadline: never a sleep.
 */
static void run_test(char *spec, int timeout)
{
	char *argv[16] = { NULL }, *at, *arg, *save = NULL;
	long long deadline, drain_until = 0;
	int master, sfd, status = 0, argc = 1, exited = 0, open_slave = 1;
	char path[PATH_MAX], args[1024] = "";
	struct out *o;
	sigset_t set;
	pid_t pid;

	at = strrchr(spec, '@');
	if (at) {
		*at++ = '\0';
		if (atoi(at) > 0)
			timeout = atoi(at);
	}
	argv[0] = strtok_r(spec, ":", &save);
	while (argc < 15 && (arg = strtok_r(NULL, ":", &save))) {
		argv[argc++] = arg;
		strncat(args, " ", sizeof(args) - strlen(args) - 1);
		strncat(args, arg, sizeof(args) - strlen(args) - 1);
	}
	path_fmt(path, "/bin/%s", argv[0]);
	say("run %s%s", argv[0], args);

	o = calloc(1, sizeof(*o));
	close(open("/tmp/.wb-lines", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
	master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (!o || master < 0 || grantpt(master) || unlockpt(master)) {
		say("end %s error=pty", argv[0]);
		free(o);
		return;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, NULL);
	sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	fflush(stdout);
	pid = fork();
	if (pid < 0 || sfd < 0) {
		say("end %s error=fork", argv[0]);
		close(master);
		free(o);
		return;
	}
	if (!pid) {
		sigprocmask(SIG_UNBLOCK, &set, NULL);
		child(master, path, argv);
	}
	fcntl(master, F_SETFL, O_NONBLOCK);

	deadline = now_ms() + timeout * 1000LL;
	while (!exited || open_slave) {
		struct pollfd pfd[3] = {
			{ .fd = open_slave ? master : -1, .events = POLLIN },
			{ .fd = kmsg_fd, .events = POLLIN },
			{ .fd = sfd, .events = POLLIN },
		};
		long long left = (exited ? drain_until : deadline) - now_ms();
		struct signalfd_siginfo si;

		if (left <= 0) {
			if (exited)	/* something outside its group holds the pty */
				break;
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			while (open_slave && out_read(master, o) > 0)
				;
			out_emit(o, 1);
			say("end %s timeout=%d", argv[0], timeout);
			goto out;
		}
		if (poll(pfd, 3, left > 1000000 ? 1000000 : (int)left) < 0)
			continue;
		if (pfd[0].revents)
			open_slave = out_read(master, o) >= 0;
		if (pfd[1].revents)
			kmsg_drain();
		if (pfd[2].revents) {
			while (read(sfd, &si, sizeof(si)) > 0)
				;
			if (!exited && waitpid(pid, &status, WNOHANG) == pid) {
				exited = 1;
				/* What it left in its group, which holds the pty */
				kill(-pid, SIGKILL);
				drain_until = now_ms() + 10000;
			}
		}
	}
	out_emit(o, 1);
	if (WIFEXITED(status))
		say("end %s rc=%d", argv[0], WEXITSTATUS(status));
	else
		say("end %s signal=%d", argv[0], WTERMSIG(status));
out:
	/* Reap anything the test left behind */
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	close(master);
	close(sfd);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	free(o);
}

/*
 * The debug kernel's kmemleak (no automatic scan): before the tests, what
 * boot left is set aside (scan, clear); after them, two scans find what the
 * tests leaked, and its report goes to the console, where the host's
 * parser counts each "unreferenced object" as a failure.
 */
#define KMEMLEAK "/sys/kernel/debug/kmemleak"

static void kmemleak_start(void)
{
	if (access(KMEMLEAK, W_OK))
		return;
	if (write_file(KMEMLEAK, "scan") || write_file(KMEMLEAK, "clear"))
		say("error: kmemleak: cannot scan and clear");
}

static void kmemleak_report(void)
{
	static char report[1 << 16];
	unsigned int leaks = 0;
	const char *p;

	if (access(KMEMLEAK, W_OK))
		return;
	if (write_file(KMEMLEAK, "scan") || write_file(KMEMLEAK, "scan") ||
	    read_file(KMEMLEAK, report, sizeof(report))) {
		say("error: kmemleak: cannot scan");
		return;
	}
	for (p = report; (p = strstr(p, "unreferenced object")); p++)
		leaks++;
	if (leaks)
		printf("%s\n", report);
	say("kmemleak: %u unreferenced object(s) after the tests", leaks);
}

/*
 * make coverage: the gcov kernel's counters, read once the tests are done,
 * go to a raw disk as a cpio archive ("newc", what usr/gen_init_cpio and
 * the host's scripts/coverage.py read): each .gcda file of
 * /sys/kernel/debug/gcov under its path there (the build directory's
 * absolute path), then the trailer. debugfs gives no size: each file is
 * read whole first. The .gcno links are the host's own files: not copied.
 */
#ifndef GCOV_DIR	/* tests/test_coverage.py builds it with its own */
#define GCOV_DIR "/sys/kernel/debug/gcov"
#endif

struct gcov_out {
	int fd;
	unsigned long long bytes;
	unsigned int files, errors;
	unsigned int ino;
};

static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	ssize_t n;

	while (len) {
		n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= n;
	}
	return 0;
}

/* One cpio "newc" member: header, name, padding, data, padding. */
static int cpio_member(struct gcov_out *g, const char *name, unsigned int mode,
		       const char *data, size_t len)
{
	static const char zeros[4];
	char hdr[111];
	size_t namesize = strlen(name) + 1;

	if (len > 0xffffffffu || namesize > 0xffffffffu)
		return -1;
	snprintf(hdr, sizeof(hdr),
		 "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
		 ++g->ino, mode, 0, 0, 1, 0, (unsigned int)len, 0, 0, 0, 0,
		 (unsigned int)namesize, 0);
	if (write_all(g->fd, hdr, 110) || write_all(g->fd, name, namesize) ||
	    write_all(g->fd, zeros, (4 - (110 + namesize) % 4) % 4) ||
	    write_all(g->fd, data, len) || write_all(g->fd, zeros, (4 - len % 4) % 4))
		return -1;
	g->bytes += 110 + namesize + len;
	return 0;
}

/* Read a whole file of unknown size (debugfs says 0) into *buf. */
static ssize_t read_whole(const char *path, char **buf)
{
	size_t cap = 1 << 16, len = 0;
	char *p = malloc(cap), *q;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || !p) {
		free(p);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	for (;;) {
		if (len == cap) {
			q = realloc(p, cap *= 2);
			if (!q)
				break;
			p = q;
		}
		n = read(fd, p + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			close(fd);
			if (n < 0)
				break;
			*buf = p;
			return len;
		}
		len += n;
	}
	close(fd);
	free(p);
	return -1;
}

static void gcov_walk(struct gcov_out *g, const char *dir)
{
	char path[PATH_MAX], *data;
	struct dirent *de;
	struct stat st;
	size_t n;
	ssize_t len;
	DIR *d;

	d = opendir(dir);
	if (!d) {
		g->errors++;
		return;
	}
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		path_fmt(path, "%s/%s", dir, de->d_name);
		if (lstat(path, &st))
			continue;
		if (S_ISDIR(st.st_mode)) {
			gcov_walk(g, path);
			continue;
		}
		n = strlen(path);
		if (!S_ISREG(st.st_mode) || n < 5 || strcmp(path + n - 5, ".gcda"))
			continue;
		len = read_whole(path, &data);
		if (len < 0) {
			say("error: gcov: cannot read %s: %s", path, strerror(errno));
			g->errors++;
			continue;
		}
		/* the name in the archive: the path under GCOV_DIR */
		if (cpio_member(g, path + strlen(GCOV_DIR "/"), 0100644, data, len))
			g->errors++;
		else
			g->files++;
		free(data);
	}
	closedir(d);
}

static void gcov_dump(const char *dev)
{
	struct gcov_out g = { .fd = -1 };

	if (access(GCOV_DIR, R_OK)) {
		say("error: gcov: no %s (not a gcov kernel?)", GCOV_DIR);
		return;
	}
	g.fd = open(dev, O_WRONLY | O_CLOEXEC);
	if (g.fd < 0) {
		say("error: gcov: cannot open %s: %s", dev, strerror(errno));
		return;
	}
	gcov_walk(&g, GCOV_DIR);
	if (cpio_member(&g, "TRAILER!!!", 0, NULL, 0) || fsync(g.fd))
		g.errors++;
	close(g.fd);
	if (g.errors)
		say("error: gcov: %u error(s) writing %s", g.errors, dev);
	say("gcov: %u file(s), %llu byte(s) written to %s", g.files, g.bytes, dev);
}

int main(void)
{
	char *tests, *timeout_s, *repeat_s, *seed, *gcov, *spec, *save = NULL;
	static char cmdline[4096], list[4096];
	int timeout = 300, repeat = 1, i;

	do_mount("proc", "/proc", "proc");
	do_mount("sysfs", "/sys", "sysfs");
	do_mount("devtmpfs", "/dev", "devtmpfs");
	do_mount("devpts", "/dev/pts", "devpts");	/* the programs' ptys */
	do_mount("debugfs", "/sys/kernel/debug", "debugfs");
	do_mount("tmpfs", "/tmp", "tmpfs");
	setvbuf(stdout, NULL, _IOLBF, 0);

	/* The whole kernel log, from its first record, then quiet console */
	kmsg_fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (kmsg_fd < 0)
		say("error: cannot open /dev/kmsg: %s", strerror(errno));
	else if (klogctl(8, NULL, 1) < 0)	/* SYSLOG_ACTION_CONSOLE_LEVEL */
		say("error: console loglevel: %s", strerror(errno));

	if (read_file("/proc/cmdline", cmdline, sizeof(cmdline)))
		say("error: cannot read /proc/cmdline");
	say("init up");
	bind_all_edu();

	timeout_s = cmdline_value(cmdline, "wb.timeout");
	if (timeout_s && atoi(timeout_s) > 0)
		timeout = atoi(timeout_s);
	seed = cmdline_value(cmdline, "wb.seed");
	if (seed && *seed) {
		setenv("NESTED_DMA_SEED", seed, 1);
		say("seed %s (NESTED_DMA_SEED)", seed);
	}
	kmemleak_start();
	repeat_s = cmdline_value(cmdline, "wb.repeat");
	if (repeat_s && atoi(repeat_s) > 0)
		repeat = atoi(repeat_s);
	tests = cmdline_value(cmdline, "wb.tests");
	for (i = 0; tests && i < repeat; i++) {
		/* strtok_r() and run_test() cut the list up: a copy each time */
		snprintf(list, sizeof(list), "%s", tests);
		for (spec = strtok_r(list, ",", &save); spec;
		     spec = strtok_r(NULL, ",", &save))
			run_test(spec, timeout);
	}
	kmemleak_report();
	gcov = cmdline_value(cmdline, "wb.gcov");
	if (gcov && *gcov)
		gcov_dump(gcov);

	say("done");
	sync();
	reboot(RB_POWER_OFF);
	return 0;
}
