/* SPDX-License-Identifier: MIT */
/*
 * Many requests in flight at once, answered out of order. One raw handler
 * serves 0x30/0x20 asynchronously: it collects every request before
 * answering any, then answers them last-first. Another raw handler is the
 * requester: it sends the requests into the broker with hnd Send (so they
 * travel on the internal channel) and collects the SendResults. The test
 * drives both sockets from one poll() loop, so neither side ever waits on
 * the other.
 */
#include <criterion/criterion.h>

#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "itest.h"

#define NREQ	1000

static struct itest_env	env;

static void
setup(void)
{
	cr_assert_eq(itest_env_init(&env), 0, "temp dir");
	cr_assert_eq(itest_write_config(&env, "[limits]\n"
	    "inflight_per_handler = 2000\n"), 0);
	cr_assert_eq(itest_daemon_start(&env, 5000), 0,
	    "daemon did not answer on %s (log %s)", env.csock, env.log);
}

static void
teardown(void)
{
	itest_env_cleanup(&env);
}

TestSuite(async, .fini = teardown, .timeout = 60);

struct async_state {
	struct rawh	 server, client;
	struct rawh_req	*reqs;		/* as the server got them */
	size_t		 nreqs;
	size_t		 sent;		/* Sends written */
	size_t		 answered;	/* Responses written */
	size_t		 results;	/* SendResults read */
	int		 seen[NREQ + 1];	/* SendResults per tag */
	int		 bad;		/* first problem, as a line */
	char		 why[256];
};

static void	async_bad(struct async_state *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

/* Remember the first thing that went wrong. */
static void
async_bad(struct async_state *st, const char *fmt, ...)
{
	va_list	ap;

	if (st->bad++ != 0)
		return;
	va_start(ap, fmt);
	vsnprintf(st->why, sizeof(st->why), fmt, ap);
	va_end(ap);
}

/* The server side: one readable event. */
static void
async_server_read(struct async_state *st)
{
	struct rawh_req	*rq = &st->reqs[st->nreqs];
	int		 r;

	r = rawh_wait_request(&st->server, rq, 0);
	if (r != RAWH_MSG) {
		async_bad(st, "server: receive error %d after %zu requests",
		    r, st->nreqs);
		return;
	}
	if (rq->channel != st->server.internal_channel)
		async_bad(st, "request on channel %u, internal is %u",
		    rq->channel, st->server.internal_channel);
	if (rq->origin_pid != (uint32_t)getpid())
		async_bad(st, "origin pid %u, sender is %d", rq->origin_pid,
		    (int)getpid());
	if (rq->len != 2)
		async_bad(st, "request with %zu data bytes, want 2", rq->len);
	if (++st->nreqs > NREQ)
		async_bad(st, "%zu requests, sent %d", st->nreqs, NREQ);
}

/* The client side: one SendResult. */
static void
async_client_read(struct async_state *st)
{
	Hnd__Envelope	*in;
	Hnd__SendResult	*sr;
	unsigned long	 tag;

	if (rawh_recv(&st->client, &in, 0) != RAWH_MSG) {
		async_bad(st, "client: receive failed after %zu results",
		    st->results);
		return;
	}
	if (in->body_case != HND__ENVELOPE__BODY_SEND_RESULT) {
		async_bad(st, "client got message %d", (int)in->body_case);
		hnd__envelope__free_unpacked(in, NULL);
		return;
	}
	sr = in->send_result;
	tag = sr->tag;
	st->results++;
	if (tag < 1 || tag > NREQ)
		async_bad(st, "SendResult for unknown tag %lu", tag);
	else if (st->seen[tag]++ != 0)
		async_bad(st, "tag %lu answered %d times", tag,
		    st->seen[tag]);
	else if (sr->cc != 0)
		async_bad(st, "tag %lu: cc 0x%02x", tag, sr->cc);
	else if (sr->data.len != 2 ||
	    (unsigned long)(sr->data.data[0] | sr->data.data[1] << 8) != tag)
		async_bad(st, "tag %lu: wrong data (%zu bytes)", tag,
		    sr->data.len);
	hnd__envelope__free_unpacked(in, NULL);
}

Test(async, a_thousand_requests_answered_in_reverse_order_each_reach_their_sender_once)
{
	struct async_state	*st;
	struct pollfd		 pfd[2];
	struct rawh_result	 res;
	Hnd__Key		 k = rawh_key(0x30, false, 0x20);
	uint8_t			 data[2];
	int64_t			 t0, end;
	size_t			 i;

	setup();

	cr_assert_not_null(st = calloc(1, sizeof(*st)));
	cr_assert_not_null(st->reqs = calloc(NREQ + 1, sizeof(*st->reqs)));
	cr_assert_eq(rawh_connect(&st->server, env.hsock, "async-server",
	    3000), 0);
	cr_assert_eq(rawh_connect(&st->client, env.hsock, "async-client",
	    3000), 0);
	cr_assert_eq(rawh_register(&st->server, 1, &k, 0, false, &res),
	    HND__STATUS__OK, "%s", res.message);
	cr_assert_eq(st->server.internal_channel, 0x0d, "Welcome says the "
	    "internal channel is %u, the config default is 0x0d",
	    st->server.internal_channel);

	t0 = itest_now_ms();
	end = t0 + 30000;
	while (st->results < NREQ && st->bad == 0 && itest_now_ms() < end) {
		pfd[0].fd = st->server.fd;
		pfd[0].events = POLLIN;
		pfd[1].fd = st->client.fd;
		pfd[1].events = POLLIN | (st->sent < NREQ ? POLLOUT : 0);
		if (poll(pfd, 2, 1000) <= 0)
			continue;
		if (pfd[0].revents & POLLIN)
			async_server_read(st);
		if (pfd[1].revents & POLLIN)
			async_client_read(st);
		if ((pfd[1].revents & POLLOUT) && st->sent < NREQ) {
			st->sent++;
			data[0] = (uint8_t)(st->sent & 0xff);
			data[1] = (uint8_t)(st->sent >> 8);
			cr_assert_eq(rawh_send(&st->client,
			    (uint32_t)st->sent, 0x30, 0, 0x20, data, 2), 0);
		}
		/* All in: answer them, newest first. */
		if (st->nreqs == NREQ && st->answered == 0) {
			cr_assert_eq(st->results, 0, "an answer came before "
			    "the handler answered anything");
			for (i = NREQ; i > 0; i--) {
				struct rawh_req *rq = &st->reqs[i - 1];

				cr_assert_eq(rawh_respond(&st->server, rq->id,
				    0, rq->data, rq->len), 0);
				st->answered++;
			}
		}
	}
	cr_log_info("%zu requests sent, %zu received by the handler, %zu "
	    "answers in %lld ms", st->sent, st->nreqs, st->results,
	    (long long)(itest_now_ms() - t0));
	cr_assert_eq(st->bad, 0, "%s", st->why);
	cr_assert_eq(st->nreqs, NREQ);
	cr_assert_eq(st->results, NREQ);
	for (i = 1; i <= NREQ; i++)
		cr_assert_eq(st->seen[i], 1, "tag %zu answered %d times", i,
		    st->seen[i]);
	/* Ids on one connection increase, however they are answered. */
	for (i = 1; i < NREQ; i++)
		cr_assert(st->reqs[i].id > st->reqs[i - 1].id);
	rawh_close(&st->server);
	rawh_close(&st->client);
	free(st->reqs);
	free(st);
	cr_assert_eq(itest_daemon_stop(&env, 5000), 0,
	    "the daemon did not exit 0 on SIGTERM (log %s)", env.log);
	ITEST_ASSERT_LOGS_CLEAN(&env);
}
