/* SPDX-License-Identifier: MIT */
/*
 * ipmi-ctl trace against the real daemon and the real App handler: the
 * events of requests answered by a handler and by the broker itself,
 * filters, a pcap capture that stock tshark decodes command by command
 * (tshark is a test dependency: tools/deps.sh installs it), and a trace
 * client that never reads, which must not slow routing down and gets an
 * exact count of what it missed.
 *
 * A trace only sees what is routed after the broker took its Trace, so
 * each test waits for "tracing" on ipmi-ctl's stderr (printed once the
 * broker said OK) before sending anything.
 */
#include <criterion/criterion.h>

#include <sys/socket.h>
#include <sys/stat.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "itest.h"
#include "wire.h"

#define SLOW_REQUESTS	2000

static const uint8_t devid[] = { 0x20, 0x01, 0x01, 0x02, 0x02, 0x00, 0xd9,
	0x7e, 0x00, 0x01, 0x00 };

static struct itest_env	env;
static pid_t		app_pid = -1;

/* Daemon and App handler, ready once Get Device ID answers 0x00. */
static void
start(void)
{
	struct itest_run	r;
	uint8_t			data[64];
	size_t			len;
	unsigned int		cc = 0xff;
	int64_t			end;

	cr_assert_eq(itest_env_init(&env), 0, "temp dir");
	cr_assert_eq(itest_write_config(&env, NULL), 0);
	cr_assert_eq(itest_daemon_start(&env, 5000), 0,
	    "daemon did not answer on %s (log %s)", env.csock, env.log);
	app_pid = itest_handler_start(&env, "IPMI_HANDLER_APP",
	    "app-handler.conf", "app");
	cr_assert(app_pid > 0, "ipmi-handler-app did not start");
	end = itest_now_ms() + 5000;
	while (itest_send_json(&env, &r, &cc, data, &len, "0x06", "0x01",
	    NULL) != 0 || cc != 0x00) {
		cr_assert(itest_now_ms() < end, "Get Device ID still answers "
		    "0x%02x after 5 s", cc);
		itest_pause_ms(10);
	}
}

static void
done(void)
{
	cr_assert_eq(itest_stop_pid(app_pid, 3000), 0,
	    "ipmi-handler-app did not exit 0 on SIGTERM");
	app_pid = -1;
	cr_assert_eq(itest_daemon_stop(&env, 5000), 0,
	    "the daemon did not exit 0 on SIGTERM (log %s)", env.log);
	ITEST_ASSERT_LOGS_CLEAN(&env);
}

static void
teardown(void)
{
	if (app_pid > 0)
		itest_stop_pid(app_pid, 3000);
	app_pid = -1;
	itest_env_cleanup(&env);
}

TestSuite(trace, .fini = teardown, .timeout = 60);

/* Read a running ipmi-ctl's stdout or stderr until needle shows n times. */
static int
run_wait(struct itest_run *r, bool err, const char *needle, int n,
    int timeout_ms)
{
	struct pollfd	 pfd;
	char		*buf = err ? r->err : r->out;
	size_t		*len = err ? &r->errlen : &r->outlen;
	int64_t		 end = itest_now_ms() + timeout_ms;
	ssize_t		 got;

	pfd.fd = err ? r->errfd : r->outfd;
	pfd.events = POLLIN;
	for (;;) {
		buf[*len] = '\0';
		if (itest_count(buf, needle) >= n)
			return 0;
		if (itest_now_ms() >= end || pfd.fd < 0 ||
		    *len + 1 >= ITEST_OUT_MAX)
			return -1;
		if (poll(&pfd, 1, (int)(end - itest_now_ms())) <= 0)
			continue;
		got = read(pfd.fd, buf + *len, ITEST_OUT_MAX - 1 - *len);
		if (got <= 0)
			return -1;
		*len += (size_t)got;
	}
}

/* Start ipmi-ctl trace ARGS... and wait until the broker took it. */
#define TRACE_START(r, ...) do {					\
	cr_assert_eq(itest_ctl_start(&env, (r), "trace", __VA_ARGS__),	\
	    0, "ipmi-ctl trace did not start");				\
	cr_assert_eq(run_wait((r), true, "tracing", 1, 5000), 0,	\
	    "ipmi-ctl trace did not start tracing: %s", (r)->err);	\
} while (0)

static void
send_cc(const char *netfn, const char *cmd, unsigned int want)
{
	struct itest_run	r;
	uint8_t			data[64];
	size_t			len;
	unsigned int		cc;

	cr_assert_eq(itest_send_json(&env, &r, &cc, data, &len, netfn, cmd,
	    NULL), 0, "ipmi-ctl send %s %s: %s", netfn, cmd, r.err);
	cr_assert_eq(cc, want, "send %s %s: cc 0x%02x, expected 0x%02x",
	    netfn, cmd, cc, want);
}

/* Line i (from 0) of s, into line. */
static void
nth_line(const char *s, int i, char *line, size_t len)
{
	const char	*eol;
	size_t		 n;

	for (; i > 0 && s != NULL; i--)
		if ((s = strchr(s, '\n')) != NULL)
			s++;
	cr_assert(s != NULL && *s != '\0', "no line %d", i);
	eol = strchr(s, '\n');
	n = eol != NULL ? (size_t)(eol - s) : strlen(s);
	cr_assert_lt(n, len);
	memcpy(line, s, n);
	line[n] = '\0';
}

static uint64_t
field(const char *line, const char *key)
{
	uint64_t	v;

	cr_assert_eq(itest_json_u64(line, key, &v), 0, "no \"%s\" in %s", key,
	    line);
	return v;
}

static void
has(const char *line, const char *text)
{
	cr_assert(strstr(line, text) != NULL, "no %s in %s", text, line);
}

Test(trace, json_trace_shows_requests_and_responses_of_handler_and_broker)
{
	struct itest_run	r;
	char			l[4][1024];
	uint8_t			data[64];
	size_t			len;
	int			i;

	start();
	TRACE_START(&r, "--count", "4", "--json", NULL);
	send_cc("0x06", "0x01", 0x00);
	send_cc("0x06", "0x99", 0xc1);
	cr_assert_eq(itest_run_finish(&r, 10000), 0, "trace exit %d: %s",
	    r.status, r.err);
	cr_assert_eq(itest_count(r.out, "\n"), 4, "%s", r.out);
	for (i = 0; i < 4; i++) {
		nth_line(r.out, i, l[i], sizeof(l[i]));
		has(l[i], "\"bus\":\"ctl\"");
		cr_assert_eq(field(l[i], "channel"), 15, "%s", l[i]);
		cr_assert_eq(field(l[i], "netfn"), 0x06, "%s", l[i]);
		has(l[i], i % 2 ? "\"direction\":\"response\"" :
		    "\"direction\":\"request\"");
	}
	cr_assert_eq(field(l[0], "cmd"), 0x01);
	has(l[0], "\"name\":\"Get Device ID\"");
	has(l[0], "\"handler\":\"app\"");
	cr_assert_eq(field(l[1], "cmd"), 0x01);
	cr_assert_eq(field(l[1], "cc"), 0x00);
	has(l[1], "\"handler\":\"app\"");
	has(l[1], "\"fallback\":false");
	cr_assert_gt(field(l[0], "id"), 0);
	cr_assert_eq(field(l[0], "id"), field(l[1], "id"),
	    "the response does not carry its request's id");
	cr_assert_eq(itest_json_bytes(l[1], "data", data, sizeof(data), &len),
	    0);
	cr_assert_eq(len, sizeof(devid));
	cr_assert_eq(memcmp(data, devid, len), 0, "%s", l[1]);
	cr_assert_eq(field(l[2], "cmd"), 0x99);
	has(l[2], "\"handler\":\"broker\"");
	cr_assert_eq(field(l[3], "cmd"), 0x99);
	cr_assert_eq(field(l[3], "cc"), 0xc1);
	has(l[3], "\"handler\":\"broker\"");
	has(l[3], "\"fallback\":true");
	done();
}

Test(trace, netfn_and_cmd_filter_keeps_only_that_command)
{
	struct itest_run	r;
	char			line[1024];
	int			i;

	start();
	TRACE_START(&r, "--count", "2", "--json", "--netfn", "0x06",
	    "--cmd", "0x01", NULL);
	send_cc("0x06", "0x99", 0xc1);
	send_cc("0x06", "0x08", 0x00);	/* Get Device GUID */
	send_cc("0x0a", "0x01", 0xc1);
	send_cc("0x06", "0x01", 0x00);
	cr_assert_eq(itest_run_finish(&r, 10000), 0, "trace exit %d: %s",
	    r.status, r.err);
	cr_assert_eq(itest_count(r.out, "\n"), 2, "%s", r.out);
	for (i = 0; i < 2; i++) {
		nth_line(r.out, i, line, sizeof(line));
		cr_assert_eq(field(line, "netfn"), 0x06, "%s", line);
		cr_assert_eq(field(line, "cmd"), 0x01, "%s", line);
	}
	done();
}

/* Run tshark on path with args, output into the test directory. */
static char *
tshark(const char *path, const char *const *args, size_t nargs)
{
	char		*argv[32], out[192];
	const char	*bin = NULL;
	static char	 cand[PATH_MAX];
	char		*paths, *dir, *save = NULL;
	size_t		 n = 0, i;
	pid_t		 pid;

	paths = strdup(getenv("PATH") != NULL ? getenv("PATH") :
	    "/usr/bin:/bin");
	cr_assert_not_null(paths);
	for (dir = strtok_r(paths, ":", &save); dir != NULL && bin == NULL;
	    dir = strtok_r(NULL, ":", &save)) {
		snprintf(cand, sizeof(cand), "%s/tshark", dir);
		if (access(cand, X_OK) == 0)
			bin = cand;
	}
	free(paths);
	cr_assert_not_null(bin, "tshark is not installed: run tools/deps.sh "
	    "(it installs the Debian package tshark)");
	argv[n++] = (char *)bin;
	argv[n++] = "-r";
	argv[n++] = (char *)path;
	argv[n++] = "-o";
	argv[n++] = "ipmi.dissect_bus_commands:TRUE";
	for (i = 0; i < nargs && n < 31; i++)
		argv[n++] = (char *)args[i];
	argv[n] = NULL;
	snprintf(out, sizeof(out), "%s/tshark-%zu.txt", env.dir, nargs);
	unlink(out);
	cr_assert_gt(pid = itest_spawn(out, argv, NULL), 0);
	cr_assert_eq(itest_wait_pid(pid, 30000), 0, "tshark failed: %s",
	    itest_read_file(out));
	return itest_read_file(out);
}

Test(trace, pcap_capture_decodes_command_by_command_in_tshark)
{
	static const char *const fields[] = { "-T", "fields",
		"-e", "ipmi.trace.chn.num", "-e", "ipmi.trace.dir",
		"-e", "ipmi.header.netfn", "-e", "ipmi.header.command",
		"-e", "ipmi.header.completion" };
	struct itest_run	r;
	struct stat		st;
	char			pcap[160], *out;

	start();
	snprintf(pcap, sizeof(pcap), "%s/trace.pcap", env.dir);
	TRACE_START(&r, "-w", pcap, NULL);
	send_cc("0x06", "0x01", 0x00);
	send_cc("0x06", "0x99", 0xc1);
	/* Printed means written: then Ctrl-C must leave a whole file. */
	cr_assert_eq(run_wait(&r, false, "\n", 4, 5000), 0,
	    "4 events not printed: %s", r.out);
	cr_assert_eq(kill(r.pid, SIGINT), 0);
	cr_assert_eq(itest_run_finish(&r, 5000), 0,
	    "ipmi-ctl trace exit %d on SIGINT: %s", r.status, r.err);
	cr_assert_eq(stat(pcap, &st), 0, "no %s", pcap);
	cr_assert_eq(st.st_size, 24 + 4 * (16 + 11) + 2 + 3 + sizeof(devid) +
	    2 + 3, "%s is %lld bytes", pcap, (long long)st.st_size);

	out = tshark(pcap, NULL, 0);
	cr_log_info("tshark:\n%s", out);
	cr_assert_eq(itest_count(out, "KCS"), 4, "%s", out);
	has(out, "Req, Get Device ID");
	has(out, "Rsp, Get Device ID, Command Completed Normally (00h)");
	has(out, "Rsp, Unknown command, Invalid Command (c1h)");
	free(out);
	out = tshark(pcap, fields, sizeof(fields) / sizeof(fields[0]));
	/* channel, direction (1: to the BMC), netfn, cmd, cc; as root
	 * tshark also warns on stderr, which shares the file. */
	has(out, "15\t1\t0x06\t0x01\t\n"
	    "15\t0\t0x07\t0x01\t0x00\n"
	    "15\t1\t0x06\t0x99\t\n"
	    "15\t0\t0x07\t0x99\t0xc1\n");
	free(out);
	done();
}

/* A control client that sent Trace, took the Result, and reads no more. */
static void
stalled_tracer(struct rawc *c)
{
	Ctl__Envelope	 e = CTL__ENVELOPE__INIT, *in;
	Ctl__Trace	 t = CTL__TRACE__INIT;
	uint8_t		 buf[WIRE_MSG_MAX + 1];
	struct pollfd	 pfd;
	ssize_t		 n;

	cr_assert_eq(rawc_connect(c, env.csock, 3000), 0);
	e.body_case = CTL__ENVELOPE__BODY_TRACE;
	e.trace = &t;
	cr_assert_eq(wire_send(c->fd, &e.base, NULL, 0), 0);
	pfd.fd = c->fd;
	pfd.events = POLLIN;
	cr_assert_eq(poll(&pfd, 1, 3000), 1, "no answer to Trace");
	cr_assert_gt(n = wire_recv(c->fd, buf, NULL, NULL), 0);
	cr_assert_not_null(in = ctl__envelope__unpack(NULL, (size_t)n, buf));
	cr_assert_eq(in->body_case, CTL__ENVELOPE__BODY_RESULT);
	cr_assert_eq(in->result->code, CTL__CODE__OK);
	ctl__envelope__free_unpacked(in, NULL);
}

/* Read what a stalled tracer missed until events + dropped == want. */
static void
tracer_drain(struct rawc *c, uint64_t want, uint64_t *events,
    uint64_t *dropped)
{
	Ctl__Envelope	*in;
	uint8_t		 buf[WIRE_MSG_MAX + 1];
	struct pollfd	 pfd = { .fd = c->fd, .events = POLLIN };
	int64_t		 end = itest_now_ms() + 10000;
	ssize_t		 n;

	*events = *dropped = 0;
	while (*events + *dropped < want && itest_now_ms() < end) {
		if (poll(&pfd, 1, 1000) <= 0)
			continue;
		if ((n = wire_recv(c->fd, buf, NULL, NULL)) == -EAGAIN)
			continue;
		cr_assert_gt(n, 0, "tracer socket: %zd", n);
		in = ctl__envelope__unpack(NULL, (size_t)n, buf);
		cr_assert_not_null(in);
		if (in->body_case == CTL__ENVELOPE__BODY_TRACE_EVENT)
			(*events)++;
		else if (in->body_case == CTL__ENVELOPE__BODY_TRACE_DROPPED)
			*dropped += in->trace_dropped->count;
		else
			cr_assert_fail("unexpected message %d in a trace",
			    (int)in->body_case);
		ctl__envelope__free_unpacked(in, NULL);
	}
}

Test(trace, a_tracer_that_never_reads_does_not_stall_routing)
{
	struct rawc	 slow, c;
	uint8_t		 data[64];
	size_t		 len;
	uint32_t	 cc;
	uint64_t	 events, dropped;
	int64_t		 t0, t, worst = 0;
	int		 i;

	start();
	stalled_tracer(&slow);
	cr_assert_eq(rawc_connect(&c, env.csock, 3000), 0);
	t0 = itest_now_ms();
	for (i = 0; i < SLOW_REQUESTS; i++) {
		t = itest_now_ms();
		cr_assert_eq(rawc_send(&c, 0x06, 0, 0x01, NULL, 0), 0);
		cr_assert_eq(rawc_wait_result(&c, 2000, &cc, data, &len),
		    RAWH_MSG, "request %d not answered within 2 s", i);
		cr_assert_eq(cc, 0x00, "request %d: cc 0x%02x", i, cc);
		if (itest_now_ms() - t > worst)
			worst = itest_now_ms() - t;
	}
	t = itest_now_ms() - t0;
	cr_log_info("%d requests in %lld ms (slowest %lld ms) with a stalled "
	    "tracer", SLOW_REQUESTS, (long long)t, (long long)worst);
	cr_assert_lt(worst, 1000, "a request took %lld ms", (long long)worst);
	rawc_close(&c);

	/* Every event arrives or is counted in a TraceDropped marker. */
	tracer_drain(&slow, 2 * SLOW_REQUESTS, &events, &dropped);
	cr_log_info("stalled tracer: %llu events, %llu dropped",
	    (unsigned long long)events, (unsigned long long)dropped);
	cr_assert_eq(events + dropped, 2 * SLOW_REQUESTS,
	    "%llu events + %llu dropped", (unsigned long long)events,
	    (unsigned long long)dropped);
	cr_assert_gt(dropped, 0, "nothing dropped: the test did not stall "
	    "the tracer");
	rawc_close(&slow);
	done();
}

Test(trace, a_tracer_that_sends_anything_after_trace_is_dropped)
{
	struct rawc	c;
	char		buf[256];
	Ctl__Envelope	e = CTL__ENVELOPE__INIT;
	Ctl__GetStatus	gs = CTL__GET_STATUS__INIT;
	struct pollfd	pfd;
	int64_t		end;
	ssize_t		n;
	bool		closed = false;

	start();
	stalled_tracer(&c);
	e.body_case = CTL__ENVELOPE__BODY_GET_STATUS;
	e.get_status = &gs;
	cr_assert_eq(wire_send(c.fd, &e.base, NULL, 0), 0);
	pfd.fd = c.fd;
	pfd.events = POLLIN;
	end = itest_now_ms() + 3000;
	while (!closed && itest_now_ms() < end) {
		if (poll(&pfd, 1, 500) <= 0)
			continue;
		n = recv(c.fd, buf, sizeof(buf), MSG_DONTWAIT);
		cr_assert_leq(n, 0, "the broker answered a message sent after "
		    "trace");
		closed = n == 0 || errno == ECONNRESET;
	}
	cr_assert(closed, "the broker kept the tracer");
	rawc_close(&c);
	cr_assert_eq(itest_wait_file(env.log, "message after trace", 3000), 0,
	    "no log line naming why (log %s)", env.log);
	done();
}
