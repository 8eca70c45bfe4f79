/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for client-lib/ipmiclient.c. The test plays the broker on a
 * real SOCK_SEQPACKET listening socket in a temporary directory. Calls that
 * block in the library (connect, register, call) run on a helper thread
 * while the main thread answers as the broker; everything else is driven
 * from the main thread with poll() on ipmic_fd() and ipmic_dispatch().
 * Every wait is bounded.
 */

#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "handler.pb-c.h"
#include "wire.h"

#include "ipmi/ipmiclient.h"

#define WAIT_MS	2000

static char		 dir[64];
static char		 path[100];
static int		 lfd = -1;
static struct ipmic	*c;
static int		 nevents[4];
static struct ipmic_key	 lost_key;
static char		 lastlog[512];

static void
test_log(enum ipmic_log_level level, const char *msg, void *arg)
{
	snprintf(lastlog, sizeof(lastlog), "%s", msg);
}

static void
test_event(struct ipmic *cl, enum ipmic_event ev, const struct ipmic_key *k,
    void *arg)
{
	nevents[ev]++;
	if (ev == IPMIC_EV_REGISTRATION_LOST)
		lost_key = *k;
}

static void
setup(void)
{
	struct sockaddr_un	sun;

	snprintf(dir, sizeof(dir), "/tmp/ipmic-test-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/handler.sock", dir);
	lfd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	cr_assert_geq(lfd, 0);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	cr_assert_eq(bind(lfd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	cr_assert_eq(listen(lfd, 8), 0);
	memset(nevents, 0, sizeof(nevents));
	c = ipmic_new("test");
	cr_assert_not_null(c);
	cr_assert_eq(ipmic_set_socket(c, path), 0);
	ipmic_set_log(c, test_log, NULL);
	ipmic_set_event(c, test_event, NULL);
}

static void
teardown(void)
{
	c = ipmic_free(c);
	if (lfd >= 0)
		close(lfd);
	unlink(path);
	rmdir(dir);
}

TestSuite(ipmiclient, .init = setup, .fini = teardown, .timeout = 10);

/* ---- the fake broker ---- */

static int
fb_accept(void)
{
	struct pollfd	pfd = { lfd, POLLIN, 0 };
	int		fd;

	cr_assert_eq(poll(&pfd, 1, WAIT_MS), 1, "no connection to accept");
	fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	cr_assert_geq(fd, 0);
	return fd;
}

/* Receive one envelope; NULL on EOF. */
static Hnd__Envelope *
fb_recv(int fd)
{
	struct pollfd	pfd = { fd, POLLIN, 0 };
	uint8_t		buf[WIRE_MSG_MAX + 1];
	Hnd__Envelope	*env;
	ssize_t		n;

	cr_assert_eq(poll(&pfd, 1, WAIT_MS), 1, "broker side got nothing");
	n = wire_recv(fd, buf, NULL, NULL);
	cr_assert_geq(n, 0, "wire_recv: %zd", n);
	if (n == 0)
		return NULL;
	env = hnd__envelope__unpack(NULL, n, buf);
	cr_assert_not_null(env);
	return env;
}

static Hnd__Envelope *
fb_expect(int fd, Hnd__Envelope__BodyCase body)
{
	Hnd__Envelope	*env;

	env = fb_recv(fd);
	cr_assert_not_null(env, "expected message %d, got EOF", body);
	cr_assert_eq(env->body_case, body, "expected message %d, got %d",
	    body, env->body_case);
	return env;
}

static void
fb_send(int fd, Hnd__Envelope *env)
{
	cr_assert_eq(wire_send(fd, &env->base, NULL, 0), 0);
}

static void
fb_welcome(int fd, uint32_t version, uint32_t max_payload)
{
	Hnd__Envelope	env = HND__ENVELOPE__INIT;
	Hnd__Welcome	w = HND__WELCOME__INIT;

	w.version = version;
	w.max_payload = max_payload;
	w.broker_pid = 4242;
	env.body_case = HND__ENVELOPE__BODY_WELCOME;
	env.welcome = &w;
	fb_send(fd, &env);
}

/* Expect Hello from the client and answer Welcome. */
static void
fb_hello(int fd, uint32_t max_payload)
{
	Hnd__Envelope	*env;

	env = fb_expect(fd, HND__ENVELOPE__BODY_HELLO);
	cr_assert_eq(env->hello->version, 1);
	cr_assert_str_eq(env->hello->name, "test");
	hnd__envelope__free_unpacked(env, NULL);
	fb_welcome(fd, 1, max_payload);
}

static void
fb_result(int fd, uint32_t tag, Hnd__Status status)
{
	Hnd__Envelope	env = HND__ENVELOPE__INIT;
	Hnd__Result	r = HND__RESULT__INIT;

	r.tag = tag;
	r.status = status;
	env.body_case = HND__ENVELOPE__BODY_RESULT;
	env.result = &r;
	fb_send(fd, &env);
}

static void
fb_request(int fd, uint64_t id, uint32_t netfn, uint32_t lun, uint32_t cmd,
    uint32_t channel, const void *data, size_t len)
{
	Hnd__Envelope	env = HND__ENVELOPE__INIT;
	Hnd__Request	r = HND__REQUEST__INIT;
	Hnd__BusFacts	f = HND__BUS_FACTS__INIT;

	r.id = id;
	r.netfn = netfn;
	r.lun = lun;
	r.cmd = cmd;
	r.channel = channel;
	r.data.data = (uint8_t *)data;
	r.data.len = len;
	r.deadline_ms = 250;
	r.origin_pid = 77;
	f.bus = "bt0";
	f.max_response = 64;
	r.facts = &f;
	env.body_case = HND__ENVELOPE__BODY_REQUEST;
	env.request = &r;
	fb_send(fd, &env);
}

/* Receive a Response and check id and cc; returns it for more checks. */
static Hnd__Envelope *
fb_response(int fd, uint64_t id, uint32_t cc)
{
	Hnd__Envelope	*env;

	env = fb_expect(fd, HND__ENVELOPE__BODY_RESPONSE);
	cr_assert_eq(env->response->id, id, "response id: expected %llu, "
	    "got %llu", (unsigned long long)id,
	    (unsigned long long)env->response->id);
	cr_assert_eq(env->response->cc, cc, "cc: expected 0x%02x, got 0x%02x",
	    cc, env->response->cc);
	return env;
}

/* ---- driving the client ---- */

/* Dispatch until *flag becomes nonzero. */
static void
pump_until(const int *flag)
{
	struct pollfd	pfd = { ipmic_fd(c), POLLIN, 0 };
	struct timespec	t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!*flag) {
		clock_gettime(CLOCK_MONOTONIC, &t);
		cr_assert_lt((t.tv_sec - t0.tv_sec) * 1000 +
		    (t.tv_nsec - t0.tv_nsec) / 1000000, WAIT_MS,
		    "condition not reached");
		poll(&pfd, 1, 50);
		cr_assert_eq(ipmic_dispatch(c), 0);
	}
}

/* Dispatch until fd (a broker-side socket) is readable. */
static void
pump_until_fd(int fd)
{
	struct pollfd	pfd[2] = { { ipmic_fd(c), POLLIN, 0 },
			    { fd, POLLIN, 0 } };
	int		i;

	for (i = 0; i < WAIT_MS / 10; i++) {
		cr_assert_geq(poll(pfd, 2, 10), 0);
		if (pfd[1].revents != 0)
			return;
		cr_assert_eq(ipmic_dispatch(c), 0);
	}
	cr_assert_fail("broker side stayed quiet");
}

/* A blocking library call on a helper thread. */
struct bg {
	pthread_t	  t;
	int		(*fn)(struct bg *);
	int		  r;
	struct ipmic_key  key;
	ipmic_request_fn *rfn;
	void		 *rarg;
	struct ipmic_error err;
	uint8_t		  cc;
	uint8_t		  rsp[64];
	size_t		  rsp_len;
	int		  timeout;
};

static void *
bg_main(void *arg)
{
	struct bg	*b = arg;

	b->r = b->fn(b);
	return NULL;
}

static void
bg_start(struct bg *b, int (*fn)(struct bg *))
{
	b->fn = fn;
	cr_assert_eq(pthread_create(&b->t, NULL, bg_main, b), 0);
}

static int
bg_join(struct bg *b)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += WAIT_MS / 1000 + 1;
	cr_assert_eq(pthread_timedjoin_np(b->t, NULL, &ts), 0,
	    "library call did not return");
	return b->r;
}

static int
bg_connect(struct bg *b)
{
	return ipmic_connect(c, b->timeout);
}

static int
bg_register(struct bg *b)
{
	return ipmic_register(c, &b->key, 0, b->rfn, b->rarg, &b->err);
}

static int
bg_unregister(struct bg *b)
{
	return ipmic_unregister(c, &b->key, &b->err);
}

static int
bg_call(struct bg *b)
{
	uint8_t	req[4] = { 1, 2, 3, 4 };

	return ipmic_call(c, 0x30, 0, 0x10, req, sizeof(req), &b->cc, b->rsp,
	    &b->rsp_len, b->timeout);
}

/* Connect the client; returns the broker side of the connection. */
static int
up(uint32_t max_payload)
{
	struct bg	b = { .timeout = WAIT_MS };
	int		fd;

	bg_start(&b, bg_connect);
	fd = fb_accept();
	fb_hello(fd, max_payload);
	cr_assert_eq(bg_join(&b), 0);
	return fd;
}

/* Register key with the client; the broker side says OK. */
static void
reg(int fd, struct ipmic_key key, ipmic_request_fn *fn, void *arg)
{
	struct bg	 b = { .key = key, .rfn = fn, .rarg = arg };
	Hnd__Envelope	*env;

	bg_start(&b, bg_register);
	env = fb_expect(fd, HND__ENVELOPE__BODY_REGISTER);
	cr_assert_eq(env->register_->key->netfn, key.netfn);
	fb_result(fd, env->register_->tag, HND__STATUS__OK);
	hnd__envelope__free_unpacked(env, NULL);
	cr_assert_eq(bg_join(&b), 0);
}

/* Request callbacks used below. */
struct hit {
	int			 n;
	struct ipmic_request	*req;
	char			 bus[32];
	uint32_t		 origin_pid;
};

static void
answer_0x11(struct ipmic *cl, struct ipmic_request *req, void *arg)
{
	struct hit	*h = arg;
	uint8_t		 d[2] = { 0x11, req->cmd };

	h->n++;
	snprintf(h->bus, sizeof(h->bus), "%s", req->facts.bus);
	h->origin_pid = req->origin_pid;
	cr_assert_eq(ipmic_reply(req, 0, d, sizeof(d)), 0);
}

static void
answer_0x22(struct ipmic *cl, struct ipmic_request *req, void *arg)
{
	struct hit	*h = arg;
	uint8_t		 d[2] = { 0x22, req->cmd };

	h->n++;
	cr_assert_eq(ipmic_reply(req, 0, d, sizeof(d)), 0);
}

static void
keep(struct ipmic *cl, struct ipmic_request *req, void *arg)
{
	struct hit	*h = arg;

	h->n++;
	h->req = req;
}

/* ---- tests ---- */

Test(ipmiclient, connect_sends_hello_and_returns_after_welcome)
{
	int	fd;

	fd = up(1024);
	cr_assert_eq(nevents[IPMIC_EV_CONNECTED], 1);
	cr_assert_eq(nevents[IPMIC_EV_REGISTERED_AGAIN], 0);
	close(fd);
}

Test(ipmiclient, connect_uses_the_socket_named_by_the_environment)
{
	struct bg	b = { .timeout = WAIT_MS };
	int		fd;

	c = ipmic_free(c);
	setenv(IPMIC_SOCKET_ENV, path, 1);
	c = ipmic_new("test");
	cr_assert_not_null(c);
	bg_start(&b, bg_connect);
	fd = fb_accept();
	fb_hello(fd, 1024);
	cr_assert_eq(bg_join(&b), 0);
	unsetenv(IPMIC_SOCKET_ENV);
	close(fd);
}

Test(ipmiclient, connect_reports_goodbye_as_refused_and_logs_the_reason)
{
	struct bg	 b = { .timeout = WAIT_MS };
	Hnd__Envelope	 env = HND__ENVELOPE__INIT, *e;
	Hnd__Goodbye	 g = HND__GOODBYE__INIT;
	int		 fd;

	bg_start(&b, bg_connect);
	fd = fb_accept();
	e = fb_expect(fd, HND__ENVELOPE__BODY_HELLO);
	hnd__envelope__free_unpacked(e, NULL);
	g.reason = "too many handlers";
	env.body_case = HND__ENVELOPE__BODY_GOODBYE;
	env.goodbye = &g;
	fb_send(fd, &env);
	cr_assert_eq(bg_join(&b), -ECONNREFUSED);
	cr_assert_not_null(strstr(lastlog, "too many handlers"),
	    "log: %s", lastlog);
	close(fd);
}

Test(ipmiclient, connect_refuses_a_broker_of_another_version)
{
	struct bg	 b = { .timeout = WAIT_MS };
	Hnd__Envelope	*e;
	int		 fd;

	bg_start(&b, bg_connect);
	fd = fb_accept();
	e = fb_expect(fd, HND__ENVELOPE__BODY_HELLO);
	hnd__envelope__free_unpacked(e, NULL);
	fb_welcome(fd, 2, 1024);
	cr_assert_eq(bg_join(&b), -EPROTO);
	close(fd);
}

Test(ipmiclient, connect_times_out_when_no_broker_listens)
{
	char	missing[160];

	snprintf(missing, sizeof(missing), "%s/missing.sock", dir);
	cr_assert_eq(ipmic_set_socket(c, missing), 0);
	cr_assert_eq(ipmic_connect(c, 100), -ETIMEDOUT);
}

Test(ipmiclient, register_returns_zero_when_the_broker_accepts)
{
	struct ipmic_key	 k = { .netfn = 0x30, .cmd = 0x01 };
	struct bg		 b = { .key = k, .rfn = keep };
	Hnd__Envelope		*env;
	int			 fd;

	fd = up(1024);
	bg_start(&b, bg_register);
	env = fb_expect(fd, HND__ENVELOPE__BODY_REGISTER);
	cr_assert_eq(env->register_->key->netfn, 0x30);
	cr_assert_eq(env->register_->key->cmd, 0x01);
	cr_assert_eq(env->register_->key->lun_mask, 0x0f);
	cr_assert_eq(env->register_->key->channel_mask, 0xffff);
	fb_result(fd, env->register_->tag, HND__STATUS__OK);
	hnd__envelope__free_unpacked(env, NULL);
	cr_assert_eq(bg_join(&b), 0);
	cr_assert_eq(b.err.code, 0);
	close(fd);
}

Test(ipmiclient, register_conflict_names_the_holder_and_overlap)
{
	struct ipmic_key	 k = { .netfn = 0x06, .cmd = 0x01 };
	struct bg		 b = { .key = k, .rfn = keep };
	Hnd__Envelope		 out = HND__ENVELOPE__INIT, *env;
	Hnd__Result		 r = HND__RESULT__INIT;
	Hnd__Key		 ov = HND__KEY__INIT;
	int			 fd;

	fd = up(1024);
	bg_start(&b, bg_register);
	env = fb_expect(fd, HND__ENVELOPE__BODY_REGISTER);
	r.tag = env->register_->tag;
	r.status = HND__STATUS__CONFLICT;
	r.message = "0x06/0x01 held by app[123]";
	r.holder_name = "app";
	r.holder_pid = 123;
	ov.netfn = 0x06;
	ov.any_cmd = 1;
	ov.lun_mask = 0x0f;
	ov.channel_mask = 0xffff;
	r.overlap = &ov;
	out.body_case = HND__ENVELOPE__BODY_RESULT;
	out.result = &r;
	fb_send(fd, &out);
	hnd__envelope__free_unpacked(env, NULL);
	cr_assert_eq(bg_join(&b), IPMIC_E_CONFLICT);
	cr_assert_eq(b.err.code, IPMIC_E_CONFLICT);
	cr_assert_str_eq(b.err.holder_name, "app");
	cr_assert_eq(b.err.holder_pid, 123);
	cr_assert_str_eq(b.err.message, "0x06/0x01 held by app[123]");
	cr_assert_eq(b.err.overlap.netfn, 0x06);
	cr_assert(b.err.overlap.any_cmd);
	close(fd);
}

Test(ipmiclient, request_goes_to_the_most_specific_registration)
{
	struct ipmic_key	 any = { .netfn = 0x06, .any_cmd = true };
	struct ipmic_key	 one = { .netfn = 0x06, .cmd = 0x01 };
	struct ipmic_key	 lun0 = { .netfn = 0x06, .cmd = 0x01,
				    .lun_mask = 0x01 };
	struct hit		 ha = { 0 }, hb = { 0 }, hc = { 0 };
	Hnd__Envelope		*env;
	int			 fd;

	fd = up(1024);
	reg(fd, any, answer_0x11, &ha);
	reg(fd, lun0, answer_0x22, &hc);
	reg(fd, one, answer_0x11, &hb);
	/* cmd 1, LUN 0: the LUN-0 key beats all-LUNs beats any-cmd. */
	fb_request(fd, 1, 0x06, 0, 0x01, 0, NULL, 0);
	pump_until(&hc.n);
	env = fb_response(fd, 1, 0);
	cr_assert_eq(env->response->data.len, 2);
	cr_assert_eq(env->response->data.data[0], 0x22);
	hnd__envelope__free_unpacked(env, NULL);
	/* cmd 1, LUN 2: the exact cmd for all LUNs. */
	fb_request(fd, 2, 0x06, 2, 0x01, 0, NULL, 0);
	pump_until(&hb.n);
	env = fb_response(fd, 2, 0);
	hnd__envelope__free_unpacked(env, NULL);
	/* cmd 5: only any-cmd matches. */
	fb_request(fd, 3, 0x06, 0, 0x05, 0, NULL, 0);
	pump_until(&ha.n);
	env = fb_response(fd, 3, 0);
	cr_assert_eq(env->response->data.data[1], 0x05);
	hnd__envelope__free_unpacked(env, NULL);
	cr_assert_eq(ha.n + hb.n + hc.n, 3);
	cr_assert_str_eq(hb.bus, "bt0");
	cr_assert_eq(hb.origin_pid, 77);
	close(fd);
}

Test(ipmiclient, request_routes_oem_netfn_by_iana)
{
	struct ipmic_key	 a = { .netfn = 0x2e, .any_cmd = true,
				    .iana = 0x001bf2 };
	struct ipmic_key	 b = { .netfn = 0x2e, .any_cmd = true,
				    .iana = 0x000157 };
	struct hit		 ha = { 0 }, hb = { 0 };
	uint8_t			 d[4] = { 0x57, 0x01, 0x00, 0x09 };
	Hnd__Envelope		*env;
	int			 fd;

	fd = up(1024);
	reg(fd, a, answer_0x11, &ha);
	reg(fd, b, answer_0x22, &hb);
	fb_request(fd, 1, 0x2e, 0, 0x40, 0, d, sizeof(d));
	pump_until(&hb.n);
	env = fb_response(fd, 1, 0);
	cr_assert_eq(env->response->data.data[0], 0x22);
	hnd__envelope__free_unpacked(env, NULL);
	cr_assert_eq(ha.n, 0);
	close(fd);
}

Test(ipmiclient, request_without_registration_is_answered_0xc1)
{
	Hnd__Envelope	*env;
	int		 fd;

	fd = up(1024);
	fb_request(fd, 1, 0x0a, 0, 0x10, 0, NULL, 0);
	pump_until_fd(fd);
	env = fb_response(fd, 1, 0xc1);		/* asserts id and cc */
	cr_assert_eq(env->response->data.len, 0, "a plain netfn echoes "
	    "nothing after the cc");
	hnd__envelope__free_unpacked(env, NULL);
	close(fd);
}

Test(ipmiclient, reply_after_dispatch_returns_reaches_the_broker)
{
	struct ipmic_key	 k = { .netfn = 0x30, .cmd = 0x02 };
	struct hit		 h = { 0 };
	struct pollfd		 pfd;
	Hnd__Envelope		*env;
	int			 fd;

	fd = up(1024);
	reg(fd, k, keep, &h);
	fb_request(fd, 7, 0x30, 0, 0x02, 0, "\x01", 1);
	pump_until(&h.n);
	/* Nothing answered yet. */
	pfd.fd = fd;
	pfd.events = POLLIN;
	cr_assert_eq(poll(&pfd, 1, 20), 0);
	cr_assert_eq(h.req->len, 1);
	cr_assert_eq(h.req->data[0], 0x01);
	cr_assert_eq(ipmic_reply(h.req, 0x00, "\x2a\x2b", 2), 0);
	env = fb_response(fd, 7, 0);
	cr_assert_eq(env->response->data.len, 2);
	cr_assert_eq(env->response->data.data[1], 0x2b);
	hnd__envelope__free_unpacked(env, NULL);
	close(fd);
}

Test(ipmiclient, reply_cc_echoes_the_iana_for_oem_requests)
{
	struct ipmic_key	 k = { .netfn = 0x2e, .cmd = 0x01,
				    .iana = 0x001bf2 };
	struct hit		 h = { 0 };
	uint8_t			 d[5] = { 0xf2, 0x1b, 0x00, 0xaa, 0xbb };
	Hnd__Envelope		*env;
	int			 fd;

	fd = up(1024);
	reg(fd, k, keep, &h);
	fb_request(fd, 1, 0x2e, 0, 0x01, 0, d, sizeof(d));
	pump_until(&h.n);
	cr_assert_eq(ipmic_reply_cc(h.req, 0xcc), 0);
	env = fb_response(fd, 1, 0xcc);
	cr_assert_eq(env->response->data.len, 3);
	cr_assert_eq(memcmp(env->response->data.data, d, 3), 0);
	hnd__envelope__free_unpacked(env, NULL);
	close(fd);
}

Test(ipmiclient, reply_larger_than_the_broker_carries_is_answered_0xca)
{
	struct ipmic_key	 k = { .netfn = 0x2c, .any_cmd = true,
				    .body = 0xdc };
	struct hit		 h = { 0 };
	uint8_t			 big[32] = { 0 };
	Hnd__Envelope		*env;
	int			 fd;

	fd = up(16);
	reg(fd, k, keep, &h);
	fb_request(fd, 1, 0x2c, 0, 0x00, 0, "\xdc", 1);
	pump_until(&h.n);
	cr_assert_eq(ipmic_reply(h.req, 0, big, sizeof(big)), -EMSGSIZE);
	env = fb_response(fd, 1, 0xca);
	cr_assert_eq(env->response->data.len, 1);
	cr_assert_eq(env->response->data.data[0], 0xdc);
	hnd__envelope__free_unpacked(env, NULL);
	close(fd);
}

Test(ipmiclient, call_returns_the_answer_of_the_broker)
{
	struct bg	 b = { .timeout = WAIT_MS, .rsp_len = 64 };
	Hnd__Envelope	 out = HND__ENVELOPE__INIT, *env;
	Hnd__SendResult	 sr = HND__SEND_RESULT__INIT;
	int		 fd;

	fd = up(1024);
	bg_start(&b, bg_call);
	env = fb_expect(fd, HND__ENVELOPE__BODY_SEND);
	cr_assert_eq(env->send->netfn, 0x30);
	cr_assert_eq(env->send->cmd, 0x10);
	cr_assert_eq(env->send->data.len, 4);
	sr.tag = env->send->tag;
	sr.cc = 0x00;
	sr.data.data = (uint8_t *)"\x05\x06\x07";
	sr.data.len = 3;
	out.body_case = HND__ENVELOPE__BODY_SEND_RESULT;
	out.send_result = &sr;
	fb_send(fd, &out);
	hnd__envelope__free_unpacked(env, NULL);
	cr_assert_eq(bg_join(&b), 0);
	cr_assert_eq(b.cc, 0x00);
	cr_assert_eq(b.rsp_len, 3);
	cr_assert_eq(memcmp(b.rsp, "\x05\x06\x07", 3), 0);
	close(fd);
}

Test(ipmiclient, call_with_a_small_buffer_returns_enobufs_and_the_start)
{
	struct bg	 b = { .timeout = WAIT_MS, .rsp_len = 2 };
	Hnd__Envelope	 out = HND__ENVELOPE__INIT, *env;
	Hnd__SendResult	 sr = HND__SEND_RESULT__INIT;
	int		 fd;

	fd = up(1024);
	bg_start(&b, bg_call);
	env = fb_expect(fd, HND__ENVELOPE__BODY_SEND);
	sr.tag = env->send->tag;
	sr.cc = 0xd5;
	sr.data.data = (uint8_t *)"\x05\x06\x07";
	sr.data.len = 3;
	out.body_case = HND__ENVELOPE__BODY_SEND_RESULT;
	out.send_result = &sr;
	fb_send(fd, &out);
	hnd__envelope__free_unpacked(env, NULL);
	cr_assert_eq(bg_join(&b), -ENOBUFS);
	cr_assert_eq(b.cc, 0xd5);
	cr_assert_eq(b.rsp_len, 2);
	cr_assert_eq(memcmp(b.rsp, "\x05\x06", 2), 0);
	close(fd);
}

Test(ipmiclient, call_times_out_and_a_late_answer_is_ignored)
{
	struct bg	 b = { .timeout = 50, .rsp_len = 64 };
	Hnd__Envelope	 out = HND__ENVELOPE__INIT, *env;
	Hnd__SendResult	 sr = HND__SEND_RESULT__INIT;
	int		 fd;

	fd = up(1024);
	bg_start(&b, bg_call);
	env = fb_expect(fd, HND__ENVELOPE__BODY_SEND);
	cr_assert_eq(bg_join(&b), -ETIMEDOUT);
	sr.tag = env->send->tag;
	out.body_case = HND__ENVELOPE__BODY_SEND_RESULT;
	out.send_result = &sr;
	fb_send(fd, &out);
	hnd__envelope__free_unpacked(env, NULL);
	/* Still connected: an unmatched request gets its 0xC1. */
	fb_request(fd, 1, 0x0a, 0, 0x10, 0, NULL, 0);
	pump_until_fd(fd);
	env = fb_response(fd, 1, 0xc1);
	hnd__envelope__free_unpacked(env, NULL);
	cr_assert_eq(nevents[IPMIC_EV_DISCONNECTED], 0);
	close(fd);
}

Test(ipmiclient, send_result_with_unknown_tag_is_logged_and_ignored)
{
	Hnd__Envelope	 out = HND__ENVELOPE__INIT, *env;
	Hnd__SendResult	 sr = HND__SEND_RESULT__INIT;
	int		 fd;

	fd = up(1024);
	sr.tag = 999;
	out.body_case = HND__ENVELOPE__BODY_SEND_RESULT;
	out.send_result = &sr;
	fb_send(fd, &out);
	fb_request(fd, 1, 0x0a, 0, 0x10, 0, NULL, 0);
	pump_until_fd(fd);
	env = fb_response(fd, 1, 0xc1);
	hnd__envelope__free_unpacked(env, NULL);
	cr_assert_eq(nevents[IPMIC_EV_DISCONNECTED], 0);
	close(fd);
}

static void
answered(struct ipmic *cl, int status, uint8_t cc, const uint8_t *data,
    size_t len, void *arg)
{
	*(int *)arg = status;
}

Test(ipmiclient, reconnect_keeps_the_fd_and_registers_every_key_again)
{
	struct ipmic_key	 k = { .netfn = 0x30, .cmd = 0x01,
				    .lun_mask = 0x01 };
	struct hit		 h = { 0 };
	Hnd__Envelope		*env;
	int			 fd, fd2, epfd, status = 1;

	fd = up(1024);
	epfd = ipmic_fd(c);
	reg(fd, k, keep, &h);
	cr_assert_eq(ipmic_send(c, 0x06, 0, 0x01, NULL, 0, answered,
	    &status), 0);
	env = fb_expect(fd, HND__ENVELOPE__BODY_SEND);
	hnd__envelope__free_unpacked(env, NULL);
	fb_request(fd, 1, 0x30, 0, 0x01, 0, NULL, 0);
	pump_until(&h.n);

	/* The broker goes away... */
	close(fd);
	pump_until(&nevents[IPMIC_EV_DISCONNECTED]);
	cr_assert_eq(status, -ECONNRESET);
	cr_assert_eq(ipmic_reply(h.req, 0, NULL, 0), -ENOTCONN);

	/* ...and a new one accepts: Hello, then the key again. */
	pump_until_fd(lfd);
	fd2 = fb_accept();
	fb_hello(fd2, 1024);
	pump_until_fd(fd2);
	env = fb_expect(fd2, HND__ENVELOPE__BODY_REGISTER);
	cr_assert_eq(env->register_->key->netfn, 0x30);
	cr_assert_eq(env->register_->key->cmd, 0x01);
	cr_assert_eq(env->register_->key->lun_mask, 0x01);
	fb_result(fd2, env->register_->tag, HND__STATUS__OK);
	hnd__envelope__free_unpacked(env, NULL);
	pump_until(&nevents[IPMIC_EV_REGISTERED_AGAIN]);
	cr_assert_eq(nevents[IPMIC_EV_CONNECTED], 2);
	cr_assert_eq(nevents[IPMIC_EV_REGISTRATION_LOST], 0);
	cr_assert_eq(ipmic_fd(c), epfd);

	/* Requests flow on the new connection, ids start again. */
	h.n = 0;
	fb_request(fd2, 1, 0x30, 0, 0x01, 0, NULL, 0);
	pump_until(&h.n);
	cr_assert_eq(ipmic_reply(h.req, 0, NULL, 0), 0);
	env = fb_response(fd2, 1, 0);
	hnd__envelope__free_unpacked(env, NULL);
	close(fd2);
}

Test(ipmiclient, key_refused_after_reconnect_is_reported_lost)
{
	struct ipmic_key	 k = { .netfn = 0x32, .any_cmd = true };
	struct hit		 h = { 0 };
	Hnd__Envelope		*env;
	int			 fd, fd2;

	fd = up(1024);
	reg(fd, k, keep, &h);
	close(fd);
	pump_until_fd(lfd);
	fd2 = fb_accept();
	fb_hello(fd2, 1024);
	pump_until_fd(fd2);
	env = fb_expect(fd2, HND__ENVELOPE__BODY_REGISTER);
	fb_result(fd2, env->register_->tag, HND__STATUS__CONFLICT);
	hnd__envelope__free_unpacked(env, NULL);
	pump_until(&nevents[IPMIC_EV_REGISTERED_AGAIN]);
	cr_assert_eq(nevents[IPMIC_EV_REGISTRATION_LOST], 1);
	cr_assert_eq(lost_key.netfn, 0x32);
	cr_assert(lost_key.any_cmd);
	/* Forgotten: its requests now find no registration. */
	fb_request(fd2, 1, 0x32, 0, 0x01, 0, NULL, 0);
	pump_until_fd(fd2);
	env = fb_response(fd2, 1, 0xc1);
	hnd__envelope__free_unpacked(env, NULL);
	cr_assert_eq(h.n, 0);
	close(fd2);
}

Test(ipmiclient, request_with_odd_netfn_drops_the_connection_and_reconnects)
{
	int		 fd, fd2, epfd;

	fd = up(1024);
	epfd = ipmic_fd(c);
	fb_request(fd, 1, 0x07, 0, 0x01, 0, NULL, 0);
	pump_until(&nevents[IPMIC_EV_DISCONNECTED]);
	cr_assert_null(fb_recv(fd), "old connection not closed");
	cr_assert_not_null(strstr(lastlog, "netfn"), "log: %s", lastlog);
	pump_until_fd(lfd);
	fd2 = fb_accept();
	fb_hello(fd2, 1024);
	pump_until(&nevents[IPMIC_EV_REGISTERED_AGAIN]);
	cr_assert_eq(nevents[IPMIC_EV_CONNECTED], 2);
	cr_assert_eq(ipmic_fd(c), epfd);
	close(fd);
	close(fd2);
}

Test(ipmiclient, replies_beyond_a_full_socket_arrive_in_order)
{
	struct ipmic_key	 k = { .netfn = 0x30, .cmd = 0x03 };
	struct hit		 h = { 0 };
	static uint8_t		 big[1000];
	Hnd__Envelope		*env;
	uint64_t		 id;
	int			 fd, i, n = 600;

	fd = up(2048);
	reg(fd, k, keep, &h);
	/* The broker side reads nothing until every answer is out. */
	for (id = 1; id <= (uint64_t)n; id++) {
		fb_request(fd, id, 0x30, 0, 0x03, 0, NULL, 0);
		pump_until(&h.n);
		h.n = 0;
		big[0] = id & 0xff;
		cr_assert_eq(ipmic_reply(h.req, 0, big, sizeof(big)), 0,
		    "reply %d", (int)id);
	}
	for (i = 1; i <= n; i++) {
		pump_until_fd(fd);
		env = fb_response(fd, i, 0);
		cr_assert_eq(env->response->data.data[0], i & 0xff);
		hnd__envelope__free_unpacked(env, NULL);
	}
	close(fd);
}

Test(ipmiclient, unregister_forgets_the_key)
{
	struct ipmic_key	 k = { .netfn = 0x30, .cmd = 0x05 };
	struct hit		 h = { 0 };
	struct bg		 b = { .key = k };
	Hnd__Envelope		*env;
	int			 fd;

	fd = up(1024);
	reg(fd, k, keep, &h);
	bg_start(&b, bg_unregister);
	env = fb_expect(fd, HND__ENVELOPE__BODY_UNREGISTER);
	cr_assert_eq(env->unregister->key->cmd, 0x05);
	fb_result(fd, env->unregister->tag, HND__STATUS__OK);
	hnd__envelope__free_unpacked(env, NULL);
	cr_assert_eq(bg_join(&b), 0);
	fb_request(fd, 1, 0x30, 0, 0x05, 0, NULL, 0);
	pump_until_fd(fd);
	env = fb_response(fd, 1, 0xc1);
	hnd__envelope__free_unpacked(env, NULL);
	cr_assert_eq(h.n, 0);
	close(fd);
}

static void
answer_and_stop(struct ipmic *cl, struct ipmic_request *req, void *arg)
{
	cr_assert_eq(ipmic_reply_cc(req, 0x00), 0);
	ipmic_stop(cl);
}

Test(ipmiclient, run_returns_after_stop_from_a_callback)
{
	struct ipmic_key	 k = { .netfn = 0x30, .cmd = 0x06 };
	Hnd__Envelope		*env;
	int			 fd;

	fd = up(1024);
	reg(fd, k, answer_and_stop, NULL);
	fb_request(fd, 1, 0x30, 0, 0x06, 0, NULL, 0);
	cr_assert_eq(ipmic_run(c), 0);
	env = fb_response(fd, 1, 0);
	hnd__envelope__free_unpacked(env, NULL);
	close(fd);
}

/* Broker side for the nested test: answers Send, with a request between. */
static void *
nested_broker(void *arg)
{
	int		 fd = *(int *)arg;
	Hnd__Envelope	 out = HND__ENVELOPE__INIT, *env;
	Hnd__SendResult	 sr = HND__SEND_RESULT__INIT;

	env = fb_expect(fd, HND__ENVELOPE__BODY_SEND);
	fb_request(fd, 2, 0x30, 0, 0x08, 0, NULL, 0);
	sr.tag = env->send->tag;
	sr.cc = 0x00;
	sr.data.data = (uint8_t *)"\x99";
	sr.data.len = 1;
	out.body_case = HND__ENVELOPE__BODY_SEND_RESULT;
	out.send_result = &sr;
	fb_send(fd, &out);
	hnd__envelope__free_unpacked(env, NULL);
	return NULL;
}

static void
call_inside(struct ipmic *cl, struct ipmic_request *req, void *arg)
{
	struct hit	*h = arg;
	uint8_t		 cc = 0xff, rsp[8];
	size_t		 len = sizeof(rsp);

	cr_assert_eq(ipmic_call(cl, 0x06, 0, 0x01, NULL, 0, &cc, rsp, &len,
	    WAIT_MS), 0);
	cr_assert_eq(len, 1);
	cr_assert_eq(ipmic_reply(req, cc, rsp, len), 0);
	h->n++;
}

Test(ipmiclient, call_from_a_callback_dispatches_other_requests_meanwhile)
{
	struct ipmic_key	 outer = { .netfn = 0x30, .cmd = 0x07 };
	struct ipmic_key	 inner = { .netfn = 0x30, .cmd = 0x08 };
	struct hit		 ho = { 0 }, hi = { 0 };
	Hnd__Envelope		*env;
	pthread_t		 t;
	struct timespec		 ts;
	int			 fd;

	fd = up(1024);
	reg(fd, outer, call_inside, &ho);
	reg(fd, inner, answer_0x22, &hi);
	cr_assert_eq(pthread_create(&t, NULL, nested_broker, &fd), 0);
	fb_request(fd, 1, 0x30, 0, 0x07, 0, NULL, 0);
	pump_until(&ho.n);
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 3;
	cr_assert_eq(pthread_timedjoin_np(t, NULL, &ts), 0);
	cr_assert_eq(hi.n, 1);
	env = fb_response(fd, 2, 0);
	hnd__envelope__free_unpacked(env, NULL);
	env = fb_response(fd, 1, 0);
	cr_assert_eq(env->response->data.data[0], 0x99);
	hnd__envelope__free_unpacked(env, NULL);
	close(fd);
}

static int
bg_register_default(struct bg *b)
{
	return ipmic_register_default(c, b->rfn, b->rarg, &b->err);
}

Test(ipmiclient, default_route_gets_requests_no_key_matches)
{
	struct ipmic_key	 one = { .netfn = 0x06, .cmd = 0x01 };
	struct hit		 hk = { 0 }, hd = { 0 };
	struct bg		 b = { .rfn = answer_0x22, .rarg = &hd };
	Hnd__Envelope		*env;
	int			 fd;

	fd = up(1024);
	reg(fd, one, answer_0x11, &hk);
	bg_start(&b, bg_register_default);
	env = fb_expect(fd, HND__ENVELOPE__BODY_REGISTER);
	cr_assert(env->register_->default_route);
	cr_assert_null(env->register_->key);
	fb_result(fd, env->register_->tag, HND__STATUS__OK);
	hnd__envelope__free_unpacked(env, NULL);
	cr_assert_eq(bg_join(&b), 0);
	/* A registered key still wins over the default route. */
	fb_request(fd, 1, 0x06, 0, 0x01, 0, NULL, 0);
	pump_until(&hk.n);
	env = fb_response(fd, 1, 0);
	hnd__envelope__free_unpacked(env, NULL);
	fb_request(fd, 2, 0x0a, 0, 0x40, 0, NULL, 0);
	pump_until(&hd.n);
	env = fb_response(fd, 2, 0);
	cr_assert_eq(env->response->data.data[0], 0x22);
	hnd__envelope__free_unpacked(env, NULL);
	close(fd);
}

Test(ipmiclient, default_route_refusal_is_returned_with_its_reason)
{
	struct hit		 hd = { 0 };
	struct bg		 b = { .rfn = answer_0x22, .rarg = &hd };
	Hnd__Envelope		*env;
	int			 fd;

	fd = up(1024);
	bg_start(&b, bg_register_default);
	env = fb_expect(fd, HND__ENVELOPE__BODY_REGISTER);
	fb_result(fd, env->register_->tag, HND__STATUS__DENIED);
	hnd__envelope__free_unpacked(env, NULL);
	cr_assert_eq(bg_join(&b), IPMIC_E_DENIED);
	/* Refused: unmatched requests still get 0xC1 from the library. */
	fb_request(fd, 1, 0x0a, 0, 0x40, 0, NULL, 0);
	pump_until_fd(fd);
	env = fb_response(fd, 1, 0xc1);
	hnd__envelope__free_unpacked(env, NULL);
	cr_assert_eq(hd.n, 0);
	close(fd);
}
