// SPDX-License-Identifier: GPL-2.0
/*
 * /init of the workbench's test machine.
 *
 * Mounts proc, sys, devtmpfs, debugfs and tmpfs; binds every edu device
 * (PCI 1234:11e8, found by id) to vfio-pci; runs the test programs named on
 * the kernel command line, each with a deadline; powers off.
 *
 * Kernel command line:
 *   wb.tests=PROG[,PROG...]   programs in /bin to run, in order; an argument
 *                             may follow a program after ':' (PROG:ARG)
 *   wb.timeout=SECONDS        deadline for each program (default 300)
 *
 * Everything the host parses is a line starting with "wb: ":
 *   wb: edu BDF bound to vfio-pci (DEVNODE)
 *   wb: run PROG        wb: end PROG rc=N | signal=N | timeout=SECONDS
 *   wb: kmemleak: N unreferenced object(s) after the tests (debug kernel)
 *   wb: done
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define EDU_VENDOR 0x1234
#define EDU_DEVICE 0x11e8
#define PCI_DEVICES "/sys/bus/pci/devices"

static void say(const char *fmt, ...)
{
	va_list ap;

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

/* Run one program with a deadline; print how it ended. */
static void run_test(char *spec, int timeout)
{
	struct timespec ts = { .tv_sec = timeout };
	char *argv[3] = { NULL, NULL, NULL };
	char path[PATH_MAX];
	sigset_t set;
	pid_t pid;
	int status;

	argv[0] = spec;
	argv[1] = strchr(spec, ':');
	if (argv[1])
		*argv[1]++ = '\0';
	path_fmt(path, "/bin/%s", spec);
	say("run %s%s%s", spec, argv[1] ? " " : "", argv[1] ? argv[1] : "");

	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, NULL);
	pid = fork();
	if (pid < 0) {
		say("end %s error=fork", spec);
		return;
	}
	if (!pid) {
		sigprocmask(SIG_UNBLOCK, &set, NULL);
		setpgid(0, 0);
		if (chdir("/tmp"))
			_exit(126);
		execv(path, argv);
		say("error: exec %s: %s", path, strerror(errno));
		_exit(127);
	}

	/* Wait for SIGCHLD until the deadline, without polling. */
	for (;;) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			break;
		if (sigtimedwait(&set, NULL, &ts) < 0 && errno == EAGAIN) {
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			say("end %s timeout=%d", spec, timeout);
			return;
		}
	}
	/* Reap anything the test left in its process group. */
	kill(-pid, SIGKILL);
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	if (WIFEXITED(status))
		say("end %s rc=%d", spec, WEXITSTATUS(status));
	else
		say("end %s signal=%d", spec, WTERMSIG(status));
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

int main(void)
{
	char *tests, *timeout_s, *spec, *save = NULL;
	static char cmdline[4096];
	int timeout = 300;

	do_mount("proc", "/proc", "proc");
	do_mount("sysfs", "/sys", "sysfs");
	do_mount("devtmpfs", "/dev", "devtmpfs");
	do_mount("debugfs", "/sys/kernel/debug", "debugfs");
	do_mount("tmpfs", "/tmp", "tmpfs");
	setvbuf(stdout, NULL, _IOLBF, 0);

	if (read_file("/proc/cmdline", cmdline, sizeof(cmdline)))
		say("error: cannot read /proc/cmdline");
	say("init up");
	bind_all_edu();

	timeout_s = cmdline_value(cmdline, "wb.timeout");
	if (timeout_s && atoi(timeout_s) > 0)
		timeout = atoi(timeout_s);
	kmemleak_start();
	tests = cmdline_value(cmdline, "wb.tests");
	for (spec = tests ? strtok_r(tests, ",", &save) : NULL; spec;
	     spec = strtok_r(NULL, ",", &save))
		run_test(spec, timeout);
	kmemleak_report();

	say("done");
	sync();
	reboot(RB_POWER_OFF);
	return 0;
}
