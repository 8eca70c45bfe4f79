/* SPDX-License-Identifier: MIT */
/*
 * VM end to end: the real daemon runs the real VM bus driver
 * (ipmi-busdrv-vm: vm.c and stream.c over busdrv.c) on the loopback
 * socket the supervisor listens on for "[bus vm0] driver = vm". The test
 * plays QEMU's ipmi-bmc-extern device: it connects over TCP, says VERSION
 * 1 and CAPABILITIES, sends framed requests and decodes what comes back
 * with its own decoder (not the driver's), byte for byte as in
 * reference/qemu-vm-protocol.md. Handlers are the real App handler,
 * raw handler connections and libipmiclient clients in the test; counters
 * come from ipmi-ctl.
 */
#include <criterion/criterion.h>

#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ipmi/ipmiclient.h"
#include "itest.h"

#define VM_BUS		"vm0"
#define SLOW_NETFN	0x30
#define WAIT_MS		5000

#define F_MSG		0xa0
#define F_CTL		0xa1
#define F_ESC		0xaa

#define OP_NOATTN	0x00
#define OP_ATTN_IRQ	0x02
#define OP_POWEROFF	0x03
#define OP_RESET	0x04
#define OP_ENABLE_IRQ	0x05
#define OP_DISABLE_IRQ	0x06
#define OP_NMI		0x07
#define OP_CAPS		0x08
#define OP_GRACEFUL	0x09
#define OP_VERSION	0xff

/* The test's QEMU: one TCP connection and the bytes not yet decoded. */
struct fq {
	int	fd;
	size_t	len;
	uint8_t	buf[16384];
};

static struct itest_env	 env;
static int		 port;
static pid_t		 app_pid = -1;
static struct rawh	 slow = { .fd = -1 };
static struct itest_run	 run;
static struct fq	 qa = { .fd = -1 }, qb = { .fd = -1 };
static struct ipmic	*cl;

static int
free_port(void)
{
	struct sockaddr_in	sin = { .sin_family = AF_INET };
	socklen_t		sl = sizeof(sin);
	int			fd;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_geq(fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), 0);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&sin, &sl), 0);
	close(fd);
	return ntohs(sin.sin_port);
}

static void
setup(void)
{
	cr_assert_eq(itest_env_init(&env), 0, "temp dir");
	port = free_port();
	cr_assert_eq(itest_write_config(&env,
	    "[bus " VM_BUS "]\ndriver = vm\ndevice = 127.0.0.1:%d\n"
	    "channel = 15\n", port), 0);
	cr_assert_eq(itest_daemon_start(&env, 5000), 0,
	    "daemon did not answer on %s (log %s)", env.csock, env.log);
	cr_assert_eq(itest_wait_file(env.log, "bus " VM_BUS
	    ": broker deadline", 5000), 0,
	    "the VM driver was not welcomed (log %s)", env.log);
}

static void
fq_close(struct fq *q)
{
	if (q->fd >= 0)
		close(q->fd);
	q->fd = -1;
	q->len = 0;
}

static void
teardown(void)
{
	fq_close(&qa);
	fq_close(&qb);
	cl = ipmic_free(cl);
	rawh_close(&slow);
	if (app_pid > 0)
		itest_stop_pid(app_pid, 3000);
	app_pid = -1;
	itest_env_cleanup(&env);
}

/* The end of every passing test: everything stops cleanly. */
static void
done(void)
{
	fq_close(&qa);
	fq_close(&qb);
	cl = ipmic_free(cl);
	rawh_close(&slow);
	if (app_pid > 0)
		cr_assert_eq(itest_stop_pid(app_pid, 3000), 0,
		    "ipmi-handler-app did not exit 0 on SIGTERM");
	app_pid = -1;
	cr_assert_eq(itest_daemon_stop(&env, 5000), 0,
	    "the daemon did not exit 0 on SIGTERM (log %s)", env.log);
	ITEST_ASSERT_LOGS_CLEAN(&env);
}

TestSuite(vm_e2e, .init = setup, .fini = teardown, .timeout = 60);

/* ---- the fake QEMU ---- */

static void
fq_write(struct fq *q, const uint8_t *p, size_t n)
{
	ssize_t	w;

	while (n > 0) {
		w = write(q->fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		cr_assert_gt(w, 0, "write to the driver: %s", strerror(errno));
		p += w;
		n -= (size_t)w;
	}
}

/* Escape body into out and end it; returns the length. */
static size_t
fq_frame(const uint8_t *body, size_t len, uint8_t end, uint8_t *out)
{
	size_t	i, n = 0;

	for (i = 0; i < len; i++) {
		if (body[i] == F_MSG || body[i] == F_CTL || body[i] == F_ESC) {
			out[n++] = F_ESC;
			out[n++] = body[i] | 0x10;
		} else
			out[n++] = body[i];
	}
	out[n++] = end;
	return n;
}

static void
fq_ctl(struct fq *q, const uint8_t *body, size_t len)
{
	uint8_t	out[16];

	fq_write(q, out, fq_frame(body, len, F_CTL, out));
}

/* Frame a request with its checksum over seq..data (into wire). */
static size_t
fq_request_bytes(uint8_t seq, uint8_t netfn, uint8_t cmd,
    const uint8_t *data, size_t len, uint8_t *wire)
{
	uint8_t	body[400], sum = 0;
	size_t	i, n = 0;

	body[n++] = seq;
	body[n++] = (uint8_t)(netfn << 2);
	body[n++] = cmd;
	if (len > 0)
		memcpy(body + n, data, len);
	n += len;
	for (i = 0; i < n; i++)
		sum += body[i];
	body[n++] = (uint8_t)-sum;
	return fq_frame(body, n, F_MSG, wire);
}

static void
fq_request(struct fq *q, uint8_t seq, uint8_t netfn, uint8_t cmd,
    const uint8_t *data, size_t len)
{
	uint8_t	wire[900];

	fq_write(q, wire, fq_request_bytes(seq, netfn, cmd, data, len, wire));
}

/*
 * The next frame the driver sent: 1 with *end (F_MSG or F_CTL) and the
 * unescaped body, 0 when nothing came in time, -1 at end of stream.
 */
static int
fq_next(struct fq *q, uint8_t *end, uint8_t *body, size_t *len,
    int timeout_ms)
{
	struct pollfd	pfd = { .fd = q->fd, .events = POLLIN };
	int64_t		until = itest_now_ms() + timeout_ms, left;
	size_t		i, j, n;
	ssize_t		r;

	for (;;) {
		for (i = 0; i < q->len; i++)
			if (q->buf[i] == F_MSG || q->buf[i] == F_CTL)
				break;
		if (i < q->len) {
			for (j = 0, n = 0; j < i; j++) {
				if (q->buf[j] == F_ESC && j + 1 < i)
					body[n++] = q->buf[++j] & ~0x10;
				else
					body[n++] = q->buf[j];
			}
			*end = q->buf[i];
			*len = n;
			memmove(q->buf, q->buf + i + 1, q->len - i - 1);
			q->len -= i + 1;
			return 1;
		}
		left = until - itest_now_ms();
		if (left <= 0)
			return 0;
		if (poll(&pfd, 1, (int)left) <= 0)
			continue;
		cr_assert_lt(q->len, sizeof(q->buf), "the driver floods us");
		r = read(q->fd, q->buf + q->len, sizeof(q->buf) - q->len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0 || (r < 0 && errno == ECONNRESET))
			return -1;
		cr_assert_gt(r, 0, "read from the driver: %s", strerror(errno));
		q->len += (size_t)r;
	}
}

static void
fq_expect_ctl(struct fq *q, uint8_t op, const char *what)
{
	uint8_t	end, body[512];
	size_t	len;

	cr_assert_eq(fq_next(q, &end, body, &len, WAIT_MS), 1,
	    "no %s control from the driver (log %s)", what, env.log);
	cr_assert_eq(end, F_CTL, "a message came instead of %s", what);
	cr_assert_eq(len, 1, "%s: control of %zu bytes", what, len);
	cr_assert_eq(body[0], op, "expected %s (0x%02x), got 0x%02x", what,
	    op, body[0]);
}

/* The next frame must be a message with a good checksum; its body. */
static size_t
fq_expect_msg(struct fq *q, uint8_t *body)
{
	uint8_t	end, sum = 0;
	size_t	len, i;

	cr_assert_eq(fq_next(q, &end, body, &len, WAIT_MS), 1,
	    "no response from the driver (log %s)", env.log);
	cr_assert_eq(end, F_MSG, "control 0x%02x came instead of a response",
	    len > 0 ? body[0] : 0);
	cr_assert_geq(len, 5, "response body of %zu bytes", len);
	for (i = 0; i < len; i++)
		sum += body[i];
	cr_assert_eq(sum, 0, "bad checksum on the response");
	return len;
}

/* Connect like QEMU, say VERSION 1 and CAPABILITIES caps in one segment,
 * and check the driver's greeting: VERSION 1, then attn (NOATTN/ATTN_IRQ). */
static void
fq_connect(struct fq *q, uint8_t caps, uint8_t attn)
{
	struct sockaddr_in	sin = { .sin_family = AF_INET };
	const uint8_t		hello[] = { OP_VERSION, 0x01, F_CTL, OP_CAPS,
				    caps, F_CTL };
	uint8_t			end, body[64];
	size_t			len;
	int64_t			until = itest_now_ms() + WAIT_MS;
	int			one = 1;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((uint16_t)port);
	for (;;) {
		q->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		cr_assert_geq(q->fd, 0);
		if (connect(q->fd, (struct sockaddr *)&sin, sizeof(sin)) == 0)
			break;
		cr_assert(errno == ECONNREFUSED && itest_now_ms() < until,
		    "connect to 127.0.0.1:%d: %s", port, strerror(errno));
		close(q->fd);
		itest_pause_ms(20);
	}
	(void)setsockopt(q->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	q->len = 0;
	fq_write(q, hello, sizeof(hello));
	cr_assert_eq(fq_next(q, &end, body, &len, WAIT_MS), 1,
	    "no greeting from the driver (log %s)", env.log);
	cr_assert_eq(end, F_CTL);
	cr_assert_eq(len, 2, "VERSION of %zu bytes", len);
	cr_assert_eq(body[0], OP_VERSION);
	cr_assert_eq(body[1], 1);
	fq_expect_ctl(q, attn, attn == OP_NOATTN ? "NOATTN" : "ATTN_IRQ");
}

/* A request nobody serves, answered 0xC1 by the broker: also proves
 * the driver processed every frame sent before it. */
static void
fq_round_trip(struct fq *q, uint8_t seq)
{
	uint8_t	body[512];

	fq_request(q, seq, 0x0a, 0x99, NULL, 0);
	cr_assert_eq(fq_expect_msg(q, body), 5);
	cr_assert_eq(body[0], seq, "seq %02x, expected %02x", body[0], seq);
	cr_assert_eq(body[1], 0x0b << 2);
	cr_assert_eq(body[2], 0x99);
	cr_assert_eq(body[3], 0xc1);
}

/* ---- the other players ---- */

/*
 * Start the App handler and wait until it serves Get Device ID (asked
 * through ipmi-ctl on the ctl bus); its answer, the truth the VM response
 * must repeat, goes to app_devid.
 */
static uint8_t	app_devid[4096];
static size_t	app_devid_len;

static void
start_app(void)
{
	int64_t		until = itest_now_ms() + WAIT_MS;
	unsigned int	cc = 0xff;

	app_pid = itest_handler_start(&env, "IPMI_HANDLER_APP",
	    "app-handler.conf", "app");
	cr_assert(app_pid > 0, "the app handler did not start");
	for (;;) {
		if (itest_send_json(&env, &run, &cc, app_devid,
		    &app_devid_len, "0x06", "0x01", NULL) == 0 && cc == 0)
			break;
		cr_assert_lt(itest_now_ms(), until, "the app handler never "
		    "answered Get Device ID (cc 0x%02x)", cc);
		itest_pause_ms(50);
	}
	cr_assert_geq(app_devid_len, 11, "Get Device ID of %zu bytes",
	    app_devid_len);
}

static void
start_client(void)
{
	cr_assert_not_null(cl = ipmic_new("vm-test"));
	cr_assert_eq(ipmic_set_socket(cl, env.hsock), 0);
	cr_assert_eq(ipmic_connect(cl, 5000), 0);
}

/* Dispatch the client until *flag is set, bounded. */
static void
pump(int *flag)
{
	struct pollfd	pfd = { .fd = ipmic_fd(cl), .events = POLLIN };
	int64_t		until = itest_now_ms() + WAIT_MS;

	while (!*flag && itest_now_ms() < until) {
		(void)poll(&pfd, 1, 50);
		cr_assert_eq(ipmic_dispatch(cl), 0);
	}
}

static uint64_t
counter(const char *name)
{
	uint64_t	v = 0;

	cr_assert_eq(itest_counter(&env, name, &v), 0, "no counter %s",
	    name);
	return v;
}

/* A field of vm0's row in ipmi-ctl --json buses, once it reaches want
 * (driver stats come at most once a second); the last value read. */
static uint64_t
bus_field(const char *key, uint64_t want)
{
	static char	line[4096];
	int64_t		end = itest_now_ms() + WAIT_MS;
	uint64_t	v = 0;

	for (;;) {
		if (itest_ctl(&env, &run, 5000, "--json", "buses", NULL) ==
		    0 && itest_line_with(run.out, "\"name\":\"" VM_BUS "\"",
		    NULL, line, sizeof(line)) == 0 &&
		    itest_json_u64(line, key, &v) == 0 && v >= want)
			return v;
		if (itest_now_ms() > end)
			return v;
		itest_pause_ms(50);
	}
}

/* ---- tests ---- */

Test(vm_e2e, greeting_is_version_1_then_noattn)
{
	fq_connect(&qa, 0x3f, OP_NOATTN);
	fq_round_trip(&qa, 0x01);
	cr_assert_eq(itest_wait_file(env.log, "controls 0x3f", WAIT_MS), 0,
	    "the broker never heard of the host's controls (log %s)",
	    env.log);
	done();
}

Test(vm_e2e, get_device_id_is_answered_with_the_app_handlers_bytes)
{
	const uint8_t	head[] = { 0x00, 0x07 << 2, 0x01, 0x00 };
	uint8_t		body[512];
	size_t		n;

	start_app();
	fq_connect(&qa, 0x3f, OP_NOATTN);
	fq_request(&qa, 0x00, 0x06, 0x01, NULL, 0);
	n = fq_expect_msg(&qa, body);
	cr_assert_eq(n, sizeof(head) + app_devid_len + 1,
	    "response body of %zu bytes", n);
	cr_assert_arr_eq(body, head, sizeof(head));
	cr_assert_arr_eq(body + sizeof(head), app_devid, app_devid_len);

	/* A seq that must be escaped both ways comes back unchanged. */
	fq_request(&qa, 0xaa, 0x06, 0x01, NULL, 0);
	n = fq_expect_msg(&qa, body);
	cr_assert_eq(n, sizeof(head) + app_devid_len + 1);
	cr_assert_eq(body[0], 0xaa);
	cr_assert_arr_eq(body + 1, head + 1, sizeof(head) - 1);
	cr_assert_arr_eq(body + sizeof(head), app_devid, app_devid_len);
	done();
}

Test(vm_e2e, unregistered_command_is_answered_c1_by_the_broker)
{
	uint64_t	v = 0;

	fq_connect(&qa, 0x3f, OP_NOATTN);
	fq_round_trip(&qa, 0x21);	/* asserts seq, netfn, cmd, 0xC1 */
	cr_assert_eq(itest_counter(&env, "fallback.no_handler", &v), 0);
	cr_assert_geq(v, 1, "fallback.no_handler %llu", (unsigned long long)v);
	done();
}

Test(vm_e2e, picmg_probe_is_answered_c1_with_the_body_code_at_once)
{
	const uint8_t	picmg = 0x00;
	uint8_t		body[512];
	int64_t		t0;

	fq_connect(&qa, 0x3f, OP_NOATTN);
	t0 = itest_now_ms();
	fq_request(&qa, 0x07, 0x2c, 0x00, &picmg, 1);
	cr_assert_eq(fq_expect_msg(&qa, body), 6);
	cr_assert_lt(itest_now_ms() - t0, 1000, "the probe took %lld ms",
	    (long long)(itest_now_ms() - t0));
	cr_assert_eq(body[0], 0x07);
	cr_assert_eq(body[1], 0x2d << 2);
	cr_assert_eq(body[2], 0x00);
	cr_assert_eq(body[3], 0xc1);
	cr_assert_eq(body[4], 0x00, "body code %02x not echoed", body[4]);
	done();
}

Test(vm_e2e, disconnect_in_flight_is_cancelled_and_the_driver_listens_on)
{
	const uint8_t	tag = 0x5a, late = 0x01;
	struct rawh_req	rq;
	uint64_t	cancelled, pid;

	cr_assert_eq(rawh_connect(&slow, env.hsock, "slow", 5000), 0);
	cr_assert_eq(rawh_reg(&slow, SLOW_NETFN, 0x01), HND__STATUS__OK);
	pid = bus_field("pid", 1);
	cr_assert_gt(pid, 0, "no driver pid:\n%s", run.out);
	cancelled = counter("requests.cancelled");

	fq_connect(&qa, 0x3f, OP_NOATTN);
	fq_request(&qa, 0x10, SLOW_NETFN, 0x01, &tag, 1);
	cr_assert_eq(rawh_wait_request(&slow, &rq, WAIT_MS), RAWH_MSG,
	    "the slow handler got no request");
	cr_assert_eq(rq.data[0], tag);
	fq_close(&qa);		/* QEMU goes away with the request open */

	{
		int64_t	end = itest_now_ms() + WAIT_MS;

		while (counter("requests.cancelled") < cancelled + 1 &&
		    itest_now_ms() < end)
			itest_pause_ms(20);
	}
	cr_assert_eq(counter("requests.cancelled"), cancelled + 1,
	    "the broker did not count the cancellation (log %s)", env.log);
	cr_assert_eq(rawh_respond(&slow, rq.id, 0, &late, 1), 0);

	/* QEMU comes back: same driver, served as before. */
	fq_connect(&qa, 0x3f, OP_NOATTN);
	fq_round_trip(&qa, 0x11);
	cr_assert_eq(bus_field("pid", pid), pid, "the driver was restarted");
	cr_assert_eq(bus_field("cancelled", 1), 1, "the driver did not count "
	    "the cancel:\n%s", run.out);
	done();
}

Test(vm_e2e, second_connection_replaces_the_first)
{
	uint8_t	end, body[64];
	size_t	len;

	fq_connect(&qa, 0x3f, OP_NOATTN);
	fq_round_trip(&qa, 0x01);
	fq_connect(&qb, 0x3f, OP_NOATTN);
	cr_assert_eq(fq_next(&qa, &end, body, &len, WAIT_MS), -1,
	    "the first connection was not closed");
	fq_round_trip(&qb, 0x02);
	cr_assert_geq(itest_wait_file(env.log, "a new connection replaces it",
	    WAIT_MS), 0, "no log line on the replacement (log %s)", env.log);
	done();
}

Test(vm_e2e, attention_from_libipmiclient_is_attn_irq_and_noattn)
{
	struct ipmic_error	err;

	start_client();
	fq_connect(&qa, 0x3f, OP_NOATTN);
	cr_assert_eq(ipmic_attention(cl, VM_BUS, true, &err), 0, "%s",
	    err.message);
	fq_expect_ctl(&qa, OP_ATTN_IRQ, "ATTN_IRQ");
	cr_assert_eq(ipmic_attention(cl, VM_BUS, false, &err), 0, "%s",
	    err.message);
	fq_expect_ctl(&qa, OP_NOATTN, "NOATTN");
	done();
}

Test(vm_e2e, attention_raised_without_qemu_is_in_the_next_greeting)
{
	struct ipmic_error	err;

	start_client();
	cr_assert_eq(ipmic_attention(cl, VM_BUS, true, &err), 0, "%s",
	    err.message);
	fq_connect(&qa, 0x3f, OP_ATTN_IRQ);
	fq_round_trip(&qa, 0x03);
	done();
}

Test(vm_e2e, machine_controls_arrive_as_their_control_frames)
{
	static const struct {
		enum ipmic_control	op;
		uint8_t			frame;
		const char		*name;
	} ops[] = {
		{ IPMIC_CONTROL_POWER_OFF, OP_POWEROFF, "POWEROFF" },
		{ IPMIC_CONTROL_RESET, OP_RESET, "RESET" },
		{ IPMIC_CONTROL_NMI, OP_NMI, "SEND_NMI" },
		{ IPMIC_CONTROL_SOFT_SHUTDOWN, OP_GRACEFUL,
		    "GRACEFUL_SHUTDOWN" },
		{ IPMIC_CONTROL_IRQ_ENABLE, OP_ENABLE_IRQ, "ENABLE_IRQ" },
		{ IPMIC_CONTROL_IRQ_DISABLE, OP_DISABLE_IRQ, "DISABLE_IRQ" },
	};
	struct ipmic_error	err;
	size_t			i;

	start_client();
	fq_connect(&qa, 0x3f, OP_NOATTN);
	fq_round_trip(&qa, 0x04);	/* the broker knows the caps now */
	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		cr_assert_eq(ipmic_bus_control(cl, VM_BUS, ops[i].op, &err),
		    0, "%s: %s", ops[i].name, err.message);
		fq_expect_ctl(&qa, ops[i].frame, ops[i].name);
	}
	done();
}

Test(vm_e2e, only_what_qemu_offers_is_allowed)
{
	struct ipmic_error	err;

	start_client();
	fq_connect(&qa, 0x02, OP_NOATTN);	/* reset only */
	fq_round_trip(&qa, 0x05);
	cr_assert_eq(ipmic_bus_control(cl, VM_BUS, IPMIC_CONTROL_POWER_OFF,
	    &err), IPMIC_E_UNSUPPORTED, "power off was not refused");
	cr_assert(strstr(err.message, "does not offer power off") != NULL,
	    "%s", err.message);
	cr_assert(strstr(err.message, "0x02") != NULL, "%s", err.message);
	cr_assert_eq(ipmic_bus_control(cl, VM_BUS, IPMIC_CONTROL_RESET,
	    &err), 0, "%s", err.message);
	fq_expect_ctl(&qa, OP_RESET, "RESET");
	done();
}

static int	reset_seen;
static char	reset_bus[64];

static void
on_bus_event(struct ipmic *c, enum ipmic_bus_event ev, const char *bus,
    void *arg)
{
	if (ev == IPMIC_BUS_HOST_RESET) {
		snprintf(reset_bus, sizeof(reset_bus), "%s", bus);
		reset_seen = 1;
	}
}

Test(vm_e2e, reset_from_qemu_reaches_handlers_and_clears_attention)
{
	const uint8_t		reset = OP_RESET;
	struct ipmic_error	err;

	start_client();
	ipmic_set_bus_event(cl, on_bus_event, NULL);
	fq_connect(&qa, 0x3f, OP_NOATTN);
	cr_assert_eq(ipmic_attention(cl, VM_BUS, true, &err), 0, "%s",
	    err.message);
	fq_expect_ctl(&qa, OP_ATTN_IRQ, "ATTN_IRQ");
	fq_ctl(&qa, &reset, 1);
	pump(&reset_seen);
	cr_assert(reset_seen, "no IPMIC_BUS_HOST_RESET (log %s)", env.log);
	cr_assert_str_eq(reset_bus, VM_BUS);
	fq_expect_ctl(&qa, OP_NOATTN, "NOATTN after the reset");
	fq_round_trip(&qa, 0x06);
	done();
}

static int	answered;

static void
on_request(struct ipmic *c, struct ipmic_request *req, void *arg)
{
	const uint8_t	data = 0x99;

	cr_assert_str_eq(req->facts.bus, VM_BUS);
	cr_assert_eq(req->channel, 15);
	cr_assert_eq(ipmic_reply(req, 0x00, &data, 1), 0);
	answered = 1;
}

Test(vm_e2e, answer_to_the_host_goes_out_before_the_reset_control)
{
	struct ipmic_key	key = { .netfn = SLOW_NETFN, .cmd = 0x05,
				    .lun_mask = IPMIC_LUN_ALL,
				    .channel_mask = IPMIC_CHANNEL_ALL };
	struct ipmic_error	err;
	uint8_t			body[512];

	start_client();
	cr_assert_eq(ipmic_register(cl, &key, 0, on_request, NULL, &err), 0,
	    "%s", err.message);
	fq_connect(&qa, 0x3f, OP_NOATTN);
	fq_request(&qa, 0x33, SLOW_NETFN, 0x05, NULL, 0);
	pump(&answered);
	cr_assert(answered, "the handler got no request (log %s)", env.log);
	cr_assert_eq(ipmic_bus_control(cl, VM_BUS, IPMIC_CONTROL_RESET,
	    &err), 0, "%s", err.message);
	cr_assert_eq(fq_expect_msg(&qa, body), 6, "the answer did not come "
	    "first");
	cr_assert_eq(body[0], 0x33);
	cr_assert_eq(body[1], (SLOW_NETFN + 1) << 2);
	cr_assert_eq(body[3], 0x00);
	cr_assert_eq(body[4], 0x99);
	fq_expect_ctl(&qa, OP_RESET, "RESET after the answer");
	done();
}

Test(vm_e2e, garbage_drops_the_peer_and_the_driver_listens_on)
{
	static uint8_t	wire[20 * 5];
	uint8_t		end, body[64];
	size_t		len, i;
	uint64_t	pid;

	pid = bus_field("pid", 1);
	fq_connect(&qa, 0x3f, OP_NOATTN);
	for (i = 0; i < 20; i++) {
		/* Get Device ID with its checksum off by one. */
		wire[5 * i] = (uint8_t)i;
		wire[5 * i + 1] = 0x18;
		wire[5 * i + 2] = 0x01;
		wire[5 * i + 3] = (uint8_t)(0xe7 - i + 1);
		wire[5 * i + 4] = F_MSG;
		if (wire[5 * i + 3] >= 0xa0 && wire[5 * i + 3] <= 0xaa)
			wire[5 * i + 3] = 0x00;	/* still wrong, unescaped */
	}
	fq_write(&qa, wire, sizeof(wire));
	cr_assert_eq(fq_next(&qa, &end, body, &len, WAIT_MS), -1,
	    "the driver did not drop the peer (log %s)", env.log);
	cr_assert_geq(itest_wait_file(env.log, "20 garbage frames",
	    WAIT_MS), 0, "no log line on the drop (log %s)", env.log);
	cr_assert_geq(bus_field("bad_checksum", 16), 16, "bad checksums not "
	    "counted:\n%s", run.out);

	fq_connect(&qa, 0x3f, OP_NOATTN);
	fq_round_trip(&qa, 0x07);
	cr_assert_eq(bus_field("pid", pid), pid, "the driver was restarted");
	done();
}
