// SPDX-License-Identifier: GPL-2.0
/*
 * qmp: a small QMP client for the three-level machine's host (L1), whose
 * /init drives QEMU through it (reset, hot-unplug and re-plug...).
 *
 *   qmp SOCKET [-t SECONDS] [COMMAND...] [-w EVENT [-m SUBSTRING]]
 *
 * Connects to QEMU's QMP unix socket (retrying until the deadline: QEMU
 * creates the socket a moment after it starts), reads the greeting, sends
 * qmp_capabilities, then each COMMAND in order, each once the reply to the
 * one before has come. A COMMAND is a JSON object ('{"execute": ...}') or
 * a bare command name ("query-status"). With -w, it then waits for an
 * event named EVENT whose "data" holds SUBSTRING (-m), counting the events
 * that came since the connection: "qmp SOCK device_del-json -w
 * DEVICE_DELETED -m nvme0" cannot miss an event that comes before the
 * reply. The deadline (-t, default 30 s, fractions allowed) is for the
 * whole run.
 *
 * Output, one line per message, on stdout:
 *   qmp: greeting {...}       qmp: send {...}       qmp: reply {...}
 *   qmp: event {...}          qmp: waiting event=EVENT (the client is
 *                             ready: any later event is seen)
 *   qmp: error class=CLASS desc=DESC        (a command failed)
 *   qmp: timeout waiting=WHAT seconds=S     (the deadline passed)
 *   qmp: matched event=EVENT
 * and "qmp: fail ..." on stderr for anything else.
 * Exit status: 0 every command returned (and the event came), 1 a command
 * returned an error (the ones after it are not sent), 2 the deadline
 * passed, 3 usage, a bad COMMAND, a socket error or QEMU closed the
 * connection first.
 *
 * A QMP socket serves one client at a time: a second client of the same
 * socket waits until the first is gone. To wait for an event in the
 * background while commands go on, give QEMU a second -qmp socket.
 *
 * Messages are split at the end of each top-level JSON object (QEMU ends
 * each with a newline; a reply may come in pieces, several may come in one
 * read); only the top-level keys of a message are looked at, so an
 * "event" inside a reply's data is not taken for an event.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

enum { EXIT_OK, EXIT_CMD_ERROR, EXIT_TIMEOUT, EXIT_FAIL };

#define MAX_MSG (64u << 20)

static int sock = -1;
static double deadline, total;
static char *buf;		/* bytes read, not yet split into messages */
static size_t len, cap;

/* the wait: event name and substring of its data, if any */
static const char *want_event, *want_match;
static int event_seen;

static void __attribute__((noreturn, format(printf, 1, 2)))
fail(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("qmp: fail ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(EXIT_FAIL);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void __attribute__((noreturn)) timeout(const char *what)
{
	printf("qmp: timeout waiting=%s seconds=%g\n", what, total);
	exit(EXIT_TIMEOUT);
}

/* JSON scanning: each returns the position after what it skipped, or NULL
 * if the text ends first or is not JSON. */
static const char *skip_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
		p++;
	return p;
}

static const char *skip_string(const char *p, const char *end)
{
	if (p >= end || *p != '"')
		return NULL;
	for (p++; p < end; p++) {
		if (*p == '\\')
			p++;
		else if (*p == '"')
			return p + 1;
	}
	return NULL;
}

static const char *skip_value(const char *p, const char *end, int depth)
{
	p = skip_ws(p, end);
	if (p >= end || depth > 256)
		return NULL;
	if (*p == '"')
		return skip_string(p, end);
	if (*p == '{' || *p == '[') {
		char close = *p == '{' ? '}' : ']';

		p = skip_ws(p + 1, end);
		if (p < end && *p == close)
			return p + 1;
		for (;;) {
			if (close == '}') {
				p = skip_string(p, end);
				if (!p)
					return NULL;
				p = skip_ws(p, end);
				if (p >= end || *p != ':')
					return NULL;
				p++;
			}
			p = skip_value(p, end, depth + 1);
			if (!p)
				return NULL;
			p = skip_ws(p, end);
			if (p >= end)
				return NULL;
			if (*p == close)
				return p + 1;
			if (*p != ',')
				return NULL;
			p = skip_ws(p + 1, end);
		}
	}
	/* number, true, false, null */
	if (!*p || !strchr("-0123456789tfn", *p))
		return NULL;
	while (p < end && *p && strchr("-+.0123456789eEtruefalsn", *p))
		p++;
	return p;
}

/* The value of KEY in the JSON object [obj, end) (top level only), or NULL;
 * *vend gets its end. */
static const char *member(const char *obj, const char *end, const char *key,
			  const char **vend)
{
	const char *p = skip_ws(obj, end), *k, *v;
	size_t n = strlen(key), kn;

	if (p >= end || *p != '{')
		return NULL;
	p = skip_ws(p + 1, end);
	while (p < end && *p == '"') {
		k = p + 1;
		p = skip_string(p, end);
		if (!p)
			return NULL;
		kn = (size_t)(p - k) - 1;
		p = skip_ws(p, end);
		if (p >= end || *p != ':')
			return NULL;
		v = skip_ws(p + 1, end);
		p = skip_value(v, end, 0);
		if (!p)
			return NULL;
		if (kn == n && !memcmp(k, key, n)) {
			*vend = p;
			return v;
		}
		p = skip_ws(p, end);
		if (p < end && *p == ',')
			p = skip_ws(p + 1, end);
	}
	return NULL;
}

/* A string member's contents, unquoted (escapes kept), in out[size]. */
static const char *member_str(const char *obj, const char *end, const char *key,
			      char *out, size_t size)
{
	const char *ve, *v = member(obj, end, key, &ve);
	size_t n;

	if (!v || *v != '"')
		return NULL;
	n = (size_t)(ve - v) - 2;
	if (n >= size)
		n = size - 1;
	memcpy(out, v + 1, n);
	out[n] = 0;
	return out;
}

/* Print MSG on one line, as QEMU prints it unless pretty: no whitespace
 * outside strings but one space after each ',' and ':'. */
static void print_msg(const char *tag, const char *msg, size_t n)
{
	const char *end = msg + n, *p = msg, *q;

	printf("qmp: %s ", tag);
	while (p < end) {
		if (*p == '"') {
			q = skip_string(p, end);
			if (!q)
				q = end;
			fwrite(p, 1, (size_t)(q - p), stdout);
			p = q;
		} else if (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n') {
			p++;
		} else {
			putchar(*p);
			if (*p == ',' || *p == ':')
				putchar(' ');
			p++;
		}
	}
	putchar('\n');
}

static void send_all(const char *s, size_t n)
{
	ssize_t w;

	while (n) {
		w = send(sock, s, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EPIPE || errno == ECONNRESET))
			fail("op=send error=closed-by-qemu");
		if (w < 0)
			fail("op=send error=%s", strerror(errno));
		s += w;
		n -= (size_t)w;
	}
}

/*
 * The next whole message, in *msg (size *n, valid until the next call);
 * blocks until the deadline. WHAT names what is awaited, for the timeout
 * and EOF lines.
 */
static size_t consumed;

static void next_msg(const char **msg, size_t *n, const char *what)
{
	const char *end, *p;
	struct pollfd pfd = { .fd = sock, .events = POLLIN };
	double left;
	ssize_t r;

	/* drop the message returned last time */
	memmove(buf, buf + consumed, len - consumed);
	len -= consumed;
	consumed = 0;
	for (;;) {
		p = skip_ws(buf, buf + len);
		end = buf + len;
		if (p < end) {
			if (*p != '{')
				fail("op=read error=not-json near=\"%.40s\"", p);
			end = skip_value(p, end, 0);
			if (end) {
				*msg = p;
				*n = (size_t)(end - p);
				consumed = (size_t)(end - buf);
				return;
			}
		}
		left = deadline - now();
		if (left <= 0)
			timeout(what);
		r = poll(&pfd, 1, left > 1000 ? 1000000 : (int)(left * 1000) + 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			fail("op=poll error=%s", strerror(errno));
		if (r == 0)
			continue;
		if (cap - len < 65536) {
			if (cap >= MAX_MSG)
				fail("op=read error=message-too-long bytes=%zu", len);
			cap *= 2;
			buf = realloc(buf, cap);
			if (!buf)
				fail("op=read error=out-of-memory");
		}
		r = read(sock, buf + len, cap - len);
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r < 0 && errno != ECONNRESET)
			fail("op=read error=%s waiting=%s", strerror(errno), what);
		if (r <= 0)
			fail("op=read error=closed-by-qemu waiting=%s", what);
		len += (size_t)r;
	}
}

/* An event message: print it, note whether it is the one awaited. Returns 0
 * for a message that is not an event. */
static int event(const char *msg, size_t n)
{
	const char *end = msg + n, *d, *de;
	char name[128];
	size_t ml;

	if (!member_str(msg, end, "event", name, sizeof(name)))
		return 0;
	print_msg("event", msg, n);
	if (want_event && !event_seen && !strcmp(name, want_event)) {
		if (!want_match) {
			event_seen = 1;
			return 1;
		}
		d = member(msg, end, "data", &de);
		if (!d) {
			d = msg;
			de = end;
		}
		ml = strlen(want_match);
		for (; (size_t)(de - d) >= ml; d++)
			if (!memcmp(d, want_match, ml)) {
				event_seen = 1;
				break;
			}
	}
	return 1;
}

/* Send CMD and wait for its reply (events before it are handled). */
static void command(const char *cmd)
{
	const char *msg, *end, *e, *ee;
	char cls[256], desc[4096], *line;
	size_t n;

	print_msg("send", cmd, strlen(cmd));
	/*
	 * One write with its newline: QEMU acts on a whole object at once, and
	 * after "quit" it may close the socket before a second write.
	 */
	line = malloc(strlen(cmd) + 2);
	if (!line)
		fail("op=send error=out-of-memory");
	strcpy(line, cmd);
	strcat(line, "\n");
	send_all(line, strlen(line));
	free(line);
	for (;;) {
		next_msg(&msg, &n, "reply");
		if (!event(msg, n))
			break;
	}
	end = msg + n;
	print_msg("reply", msg, n);
	e = member(msg, end, "error", &ee);
	if (e) {
		if (!member_str(e, ee, "class", cls, sizeof(cls)))
			strcpy(cls, "?");
		if (!member_str(e, ee, "desc", desc, sizeof(desc)))
			strcpy(desc, "?");
		printf("qmp: error class=%s desc=%s\n", cls, desc);
		exit(EXIT_CMD_ERROR);
	}
	if (!member(msg, end, "return", &ee))
		fail("op=reply error=neither-return-nor-error");
}

static void connect_retry(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int err;

	if (strlen(path) >= sizeof(sa.sun_path))
		fail("op=connect error=path-too-long path=%s", path);
	strcpy(sa.sun_path, path);
	for (;;) {
		sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (sock < 0)
			fail("op=socket error=%s", strerror(errno));
		if (!connect(sock, (struct sockaddr *)&sa, sizeof(sa)))
			return;
		err = errno;
		close(sock);
		sock = -1;
		if (err != ENOENT && err != ECONNREFUSED && err != EAGAIN &&
		    err != EINTR)
			fail("op=connect error=%s path=%s", strerror(err), path);
		if (now() >= deadline)
			timeout("connect");
		usleep(50000);
	}
}

static void __attribute__((noreturn)) usage(void)
{
	fputs("usage: qmp SOCKET [-t SECONDS] [COMMAND...] [-w EVENT [-m SUBSTRING]]\n"
	      "  COMMAND: a JSON object, or a command name without arguments\n"
	      "  exit: 0 ok, 1 a command failed, 2 deadline passed, 3 other failure\n",
	      stderr);
	exit(EXIT_FAIL);
}

/* A command argument: a JSON object as it is, or a name to execute. */
static char *command_arg(const char *a)
{
	const char *end = a + strlen(a), *p;
	char *cmd;
	size_t i;

	if (*skip_ws(a, end) == '{') {
		p = skip_value(a, end, 0);
		if (!p || skip_ws(p, end) != end)
			fail("op=args error=not-one-json-object command=%s", a);
		return strdup(a);
	}
	for (i = 0; a[i]; i++)
		if (!strchr("abcdefghijklmnopqrstuvwxyz"
			    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_", a[i]))
			fail("op=args error=not-a-command command=%s", a);
	if (!i)
		usage();
	cmd = malloc(i + 32);
	if (!cmd)
		fail("op=args error=out-of-memory");
	sprintf(cmd, "{\"execute\": \"%s\"}", a);
	return cmd;
}

int main(int argc, char **argv)
{
	const char *msg, *path, *ve;
	char **cmds, *endp;
	double secs = 30;
	int i, ncmds = 0;
	size_t n;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2 || argv[1][0] == '-')
		usage();
	path = argv[1];
	cmds = calloc((size_t)argc, sizeof(*cmds));
	if (!cmds)
		fail("op=args error=out-of-memory");
	for (i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "-t") || !strcmp(argv[i], "-w") ||
		    !strcmp(argv[i], "-m")) {
			if (i + 1 >= argc)
				usage();
			if (argv[i][1] == 't') {
				secs = strtod(argv[i + 1], &endp);
				if (*endp || endp == argv[i + 1] || !(secs > 0))
					usage();
			} else if (argv[i][1] == 'w') {
				want_event = argv[i + 1];
			} else {
				want_match = argv[i + 1];
			}
			i++;
		} else if (argv[i][0] == '-') {
			usage();
		} else {
			cmds[ncmds++] = command_arg(argv[i]);
		}
	}
	if (want_match && !want_event)
		usage();
	total = secs;
	deadline = now() + secs;
	cap = 131072;
	buf = malloc(cap);
	if (!buf)
		fail("op=args error=out-of-memory");

	connect_retry(path);
	next_msg(&msg, &n, "greeting");
	if (!member(msg, msg + n, "QMP", &ve))
		fail("op=greeting error=no-QMP-member");
	print_msg("greeting", msg, n);
	command("{\"execute\": \"qmp_capabilities\"}");
	for (i = 0; i < ncmds; i++)
		command(cmds[i]);
	if (!want_event)
		return EXIT_OK;
	printf("qmp: waiting event=%s%s%s\n", want_event,
	       want_match ? " match=" : "", want_match ? want_match : "");
	while (!event_seen) {
		next_msg(&msg, &n, want_event);
		if (!event(msg, n))
			print_msg("unexpected", msg, n);
	}
	printf("qmp: matched event=%s\n", want_event);
	return EXIT_OK;
}
