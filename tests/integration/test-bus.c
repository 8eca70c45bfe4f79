/* SPDX-License-Identifier: MIT */
/*
 * The broker's bus side, with the test playing the supervisor and a bus
 * driver. The test starts `ipmi-brokerd --broker --sup-fd 3` itself with
 * one end of a socketpair as fd 3, sends it a config built with
 * config_defaults() + config_to_proto(), two listening sockets it made,
 * and a bus link (one end of another socketpair, over SCM_RIGHTS). On its
 * end of the link it speaks bus.proto as a driver would: Hello, Requests,
 * Cancel, and garbage. Handlers (the real App handler, raw ones) connect
 * to the test's handler socket; ipmi-ctl to its control socket.
 */
#include <criterion/criterion.h>

#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bus.pb-c.h"
#include "config.h"
#include "log.h"
#include "supervisor.pb-c.h"
#include "wire.h"
#include "itest.h"

#define BUS_NAME	"testbus"
#define BUS_CHANNEL	2
#define BUS_LIMIT_MS	400

static struct itest_env	env;
static int		sup_fd = -1;	/* our end of the supervisor link */
static int		bus_fd = -1;	/* our end of the bus link */
static pid_t		broker = -1;
static pid_t		app = -1;
static uint32_t		bus_deadline;	/* from the Welcome */

/* A listening SEQPACKET socket at path. */
static int
listener(const char *path)
{
	struct sockaddr_un	sun = { .sun_family = AF_UNIX };
	int			fd;

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	cr_assert(fd >= 0);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0,
	    "bind %s", path);
	cr_assert_eq(listen(fd, 16), 0);
	return fd;
}

/* Start the broker with fd as its fd 3. */
static pid_t
spawn_broker(int fd)
{
	char	*argv[] = { (char *)itest_bin("IPMI_BROKERD"), "--broker",
		    "--sup-fd", "3", "-d", NULL };
	pid_t	 pid, parent = getpid();
	int	 log;

	cr_assert_not_null(argv[0], "IPMI_BROKERD is not set");
	if ((pid = fork()) != 0)
		return pid;
	(void)setpgid(0, 0);
	(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(127);
	log = open(env.log, O_WRONLY | O_CREAT | O_APPEND, 0644);
	if (log < 0 || dup2(log, 2) < 0 || dup2(log, 1) < 0)
		_exit(127);
	if (fd == 3) {
		if (fcntl(3, F_SETFD, 0) < 0)
			_exit(127);
	} else if (dup2(fd, 3) < 0)
		_exit(127);
	execv(argv[0], argv);
	_exit(127);
}

static Sup__Envelope *
sup_recv(int timeout_ms)
{
	struct pollfd	pfd = { .fd = sup_fd, .events = POLLIN };
	uint8_t		buf[WIRE_MSG_MAX + 1];
	ssize_t		n;

	if (poll(&pfd, 1, timeout_ms) <= 0)
		return NULL;
	if ((n = wire_recv(sup_fd, buf, NULL, NULL)) <= 0)
		return NULL;
	return sup__envelope__unpack(NULL, (size_t)n, buf);
}

/* Next envelope on the bus link; NULL on timeout; *eof set on EOF. */
static Bus__Envelope *
bus_recv(int timeout_ms, int *eof)
{
	struct pollfd	pfd = { .fd = bus_fd, .events = POLLIN };
	uint8_t		buf[WIRE_MSG_MAX + 1];
	ssize_t		n;

	if (eof != NULL)
		*eof = 0;
	if (poll(&pfd, 1, timeout_ms) <= 0)
		return NULL;
	n = wire_recv(bus_fd, buf, NULL, NULL);
	if (n <= 0) {
		if (eof != NULL)
			*eof = n == 0 || n == -ECONNRESET;
		return NULL;
	}
	return bus__envelope__unpack(NULL, (size_t)n, buf);
}

static void
bus_send(Bus__Envelope *e)
{
	cr_assert_eq(wire_send(bus_fd, &e->base, NULL, 0), 0);
}

static void
bus_request(uint64_t token, uint32_t netfn, uint32_t cmd, const void *data,
    size_t len)
{
	Bus__Envelope	e = BUS__ENVELOPE__INIT;
	Bus__Request	rq = BUS__REQUEST__INIT;

	rq.token = token;
	rq.netfn = netfn;
	rq.cmd = cmd;
	rq.data.data = (uint8_t *)data;
	rq.data.len = len;
	e.body_case = BUS__ENVELOPE__BODY_REQUEST;
	e.request = &rq;
	bus_send(&e);
}

/* The Response to token; fails on anything else. Free it after use. */
static Bus__Envelope *
bus_response(uint64_t token)
{
	Bus__Envelope	*e;
	int		 eof;

	e = bus_recv(5000, &eof);
	cr_assert_not_null(e, "no response to token %llu (eof %d)",
	    (unsigned long long)token, eof);
	cr_assert_eq(e->body_case, BUS__ENVELOPE__BODY_RESPONSE);
	cr_assert_eq(e->response->token, token);
	return e;
}

static void
send_config(void)
{
	Sup__Envelope		 e = SUP__ENVELOPE__INIT;
	struct config_proto	*store = NULL;
	struct config		*cfg;

	cr_assert_not_null(cfg = calloc(1, sizeof(*cfg)));
	config_defaults(cfg);
	cfg->generation = 1;
	snprintf(cfg->path, sizeof(cfg->path), "%s", "test-bus (no file)");
	cfg->log_level = LOG_LVL_DEBUG;
	e.body_case = SUP__ENVELOPE__BODY_CONFIG;
	cr_assert_not_null(e.config = config_to_proto(cfg, &store));
	cr_assert_eq(wire_send(sup_fd, &e.base, NULL, 0), 0);
	config_proto_free(store);
	free(cfg);
}

static void
setup(void)
{
	Sup__Envelope	 e = SUP__ENVELOPE__INIT;
	Sup__Sockets	 socks = SUP__SOCKETS__INIT;
	Sup__BusLink	 link = SUP__BUS_LINK__INIT;
	Sup__Envelope	*in;
	Bus__Envelope	 be = BUS__ENVELOPE__INIT;
	Bus__Hello	 hello = BUS__HELLO__INIT;
	Bus__Envelope	*w;
	int		 sp[2], lp[2], fds[2];

	cr_assert_eq(itest_env_init(&env), 0, "temp dir");
	cr_assert_eq(mkdir(env.rundir, 0755), 0);
	cr_assert_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp),
	    0);
	broker = spawn_broker(sp[1]);
	cr_assert(broker > 0);
	close(sp[1]);
	sup_fd = sp[0];

	cr_assert_not_null(in = sup_recv(5000), "no hello from the broker "
	    "(log %s)", env.log);
	cr_assert_eq(in->body_case, SUP__ENVELOPE__BODY_HELLO);
	cr_assert_eq(in->hello->version, 1);
	cr_assert_eq(in->hello->pid, (uint32_t)broker);
	sup__envelope__free_unpacked(in, NULL);

	send_config();
	cr_assert_not_null(in = sup_recv(5000), "no config result");
	cr_assert_eq(in->body_case, SUP__ENVELOPE__BODY_CONFIG_RESULT);
	cr_assert(in->config_result->ok, "config refused: %s",
	    in->config_result->message);
	cr_assert_eq(in->config_result->generation, 1);
	sup__envelope__free_unpacked(in, NULL);

	fds[0] = listener(env.hsock);
	fds[1] = listener(env.csock);
	e.body_case = SUP__ENVELOPE__BODY_SOCKETS;
	e.sockets = &socks;
	cr_assert_eq(wire_send(sup_fd, &e.base, fds, 2), 0);
	close(fds[0]);
	close(fds[1]);

	cr_assert_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, lp),
	    0);
	link.name = BUS_NAME;
	e.body_case = SUP__ENVELOPE__BODY_BUS_LINK;
	e.bus_link = &link;
	cr_assert_eq(wire_send(sup_fd, &e.base, &lp[1], 1), 0);
	close(lp[1]);
	bus_fd = lp[0];

	hello.version = 1;
	hello.name = BUS_NAME;
	hello.channel = BUS_CHANNEL;
	hello.max_request = 255;
	hello.max_response = 64;
	hello.deadline_limit_ms = BUS_LIMIT_MS;
	hello.max_outstanding = 4;
	be.body_case = BUS__ENVELOPE__BODY_HELLO;
	be.hello = &hello;
	bus_send(&be);
	cr_assert_not_null(w = bus_recv(5000, NULL), "no welcome on the bus "
	    "link (log %s)", env.log);
	cr_assert_eq(w->body_case, BUS__ENVELOPE__BODY_WELCOME);
	cr_assert_eq(w->welcome->version, 1);
	bus_deadline = w->welcome->deadline_ms;
	bus__envelope__free_unpacked(w, NULL);
	cr_assert_eq(itest_ctl_ready(env.csock, 5000), 0);
}

static void
stop_app(void)
{
	if (app > 0)
		cr_assert_eq(itest_stop_pid(app, 3000), 0,
		    "ipmi-handler-app did not exit 0 on SIGTERM");
	app = -1;
}

/* The end of every test: the broker exits 0 on SIGTERM. */
static void
done(void)
{
	stop_app();
	cr_assert_eq(kill(broker, SIGTERM), 0);
	cr_assert_eq(itest_wait_pid(broker, 5000), 0,
	    "the broker did not exit 0 on SIGTERM (log %s)", env.log);
	ITEST_ASSERT_LOGS_CLEAN(&env);
	broker = -1;
}

static void
teardown(void)
{
	if (app > 0)
		itest_stop_pid(app, 3000);
	if (broker > 0)
		itest_stop_pid(broker, 3000);
	app = broker = -1;
	if (bus_fd >= 0)
		close(bus_fd);
	if (sup_fd >= 0)
		close(sup_fd);
	bus_fd = sup_fd = -1;
	itest_env_cleanup(&env);
}

TestSuite(bus, .fini = teardown, .timeout = 30);

static void
start_app(void)
{
	int	got;

	app = itest_handler_start(&env, "IPMI_HANDLER_APP",
	    "app-handler.conf", "app");
	cr_assert(app > 0);
	cr_assert_eq(itest_wait_regs(&env, "app", ITEST_APP_NCMDS, 5000, &got), 0,
	    "app registrations: %d", got);
}

Test(bus, the_broker_welcomes_a_driver_with_a_deadline_inside_its_limit)
{
	struct itest_run	r;
	char			line[512];

	setup();

	cr_log_info("bus limit %d ms, broker deadline %u ms", BUS_LIMIT_MS,
	    bus_deadline);
	cr_assert(bus_deadline > 0 && bus_deadline <= BUS_LIMIT_MS - 50,
	    "deadline %u ms leaves no margin under the %d ms limit",
	    bus_deadline, BUS_LIMIT_MS);
	cr_assert_eq(itest_ctl(&env, &r, 5000, "buses", NULL), 0, "%s",
	    r.err);
	cr_assert_eq(itest_line_with(r.out, BUS_NAME, "up", line,
	    sizeof(line)), 0, "%s", r.out);
	done();
}

Test(bus, a_bus_request_reaches_the_app_handler_and_the_response_carries_its_token)
{
	Bus__Envelope	*e;

	setup();

	start_app();
	bus_request(7, 0x06, 0x01, NULL, 0);
	e = bus_response(7);
	cr_assert_eq(e->response->cc, 0, "cc 0x%02x", e->response->cc);
	cr_assert_eq(e->response->netfn, 0x06);
	cr_assert_eq(e->response->cmd, 0x01);
	cr_assert_eq(e->response->data.len, 11);
	cr_assert_eq(e->response->data.data[0], 0x20, "device id");
	bus__envelope__free_unpacked(e, NULL);
	done();
}

Test(bus, an_unregistered_bus_request_gets_c1)
{
	Bus__Envelope	*e;

	setup();

	bus_request(8, 0x30, 0x55, NULL, 0);
	e = bus_response(8);
	cr_assert_eq(e->response->cc, 0xc1, "cc 0x%02x", e->response->cc);
	cr_assert_eq(e->response->data.len, 0);
	bus__envelope__free_unpacked(e, NULL);
	done();
}

Test(bus, garbage_on_the_bus_link_drops_the_link_but_the_broker_keeps_serving)
{
	static const uint8_t	junk[] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	    0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 0x13, 0x37 };
	struct itest_run	r;
	Bus__Envelope		*e;
	int			eof = 0;
	int64_t			end;

	setup();

	cr_assert_null(bus__envelope__unpack(NULL, sizeof(junk), junk));
	start_app();
	cr_assert_eq(wire_send_raw(bus_fd, junk, sizeof(junk), NULL, 0), 0);
	end = itest_now_ms() + 3000;
	while (!eof && itest_now_ms() < end) {
		e = bus_recv(100, &eof);
		cr_assert_null(e, "a message came instead of EOF");
	}
	cr_assert(eof, "the broker did not close the bus link");
	cr_assert_eq(itest_wait_file(env.log, "bus " BUS_NAME ": link dropped"
	    ": message does not decode", 3000), 0, "log %s", env.log);
	cr_assert_eq(itest_wait_pid(broker, 0), -1, "the broker exited");
	cr_assert_eq(itest_ctl(&env, &r, 5000, "send", "0x06", "0x01", NULL),
	    0, "%s", r.err);
	cr_assert_str_eq(r.out, " 20 01 01 02 02 00 d9 7e 00 01 00\n");
	done();
}

Test(bus, a_cancelled_request_is_never_answered_and_is_counted)
{
	Bus__Envelope		 ce = BUS__ENVELOPE__INIT;
	Bus__Cancel		 cancel = BUS__CANCEL__INIT;
	Bus__Envelope		*e;
	struct rawh		 h;
	struct rawh_req		 rq;
	uint64_t		 v;
	int64_t			 end;
	int			 eof;

	setup();

	cr_assert_eq(rawh_connect(&h, env.hsock, "staller", 3000), 0);
	cr_assert_eq(rawh_reg(&h, 0x30, 0x11), HND__STATUS__OK);
	bus_request(9, 0x30, 0x11, NULL, 0);
	cr_assert_eq(rawh_wait_request(&h, &rq, 3000), RAWH_MSG);
	cr_assert_eq(rq.channel, BUS_CHANNEL, "channel %u", rq.channel);
	cr_assert_str_eq(rq.bus, BUS_NAME);
	cr_assert_eq(rq.deadline_ms, bus_deadline);

	cancel.token = 9;
	ce.body_case = BUS__ENVELOPE__BODY_CANCEL;
	ce.cancel = &cancel;
	bus_send(&ce);
	/* Wait well past the deadline: nothing may come for token 9. */
	end = itest_now_ms() + bus_deadline + 500;
	while (itest_now_ms() < end) {
		e = bus_recv((int)(end - itest_now_ms()), &eof);
		cr_assert(!eof, "the broker closed the bus link");
		if (e != NULL) {
			cr_assert(e->body_case != BUS__ENVELOPE__BODY_RESPONSE
			    || e->response->token != 9, "token 9 was "
			    "answered after its Cancel (cc 0x%02x)",
			    e->response->cc);
			bus__envelope__free_unpacked(e, NULL);
		}
	}
	cr_assert_eq(itest_counter(&env, "requests.cancelled", &v), 0);
	cr_assert_eq(v, 1, "requests.cancelled = %llu", (unsigned long long)v);
	/* It still expired in the broker, but nobody was given a fallback:
	 * it counts as orphaned, not as a timeout answer. */
	cr_assert_eq(itest_counter(&env, "answers.orphaned", &v), 0);
	cr_assert_eq(v, 1, "answers.orphaned = %llu", (unsigned long long)v);
	cr_assert_eq(itest_counter(&env, "fallback.timeout", &v), 0);
	cr_assert_eq(v, 0, "a fallback nobody received was counted");

	/* The link still works. */
	bus_request(10, 0x30, 0x11, NULL, 0);
	cr_assert_eq(rawh_wait_request(&h, &rq, 3000), RAWH_MSG);
	cr_assert_eq(rawh_respond(&h, rq.id, 0, "\x01\x02", 2), 0);
	e = bus_response(10);
	cr_assert_eq(e->response->cc, 0);
	cr_assert_eq(e->response->data.len, 2);
	bus__envelope__free_unpacked(e, NULL);
	rawh_close(&h);
	done();
}

Test(bus, closing_the_supervisor_link_stops_the_broker_with_status_0)
{
	setup();
	close(sup_fd);
	sup_fd = -1;
	cr_assert_eq(itest_wait_pid(broker, 5000), 0,
	    "the broker did not exit 0 when its supervisor went away");
	ITEST_ASSERT_LOGS_CLEAN(&env);
	broker = -1;
	cr_assert_eq(itest_wait_file(env.log, "supervisor link closed", 0), 0);
}
