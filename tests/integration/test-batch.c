/* SPDX-License-Identifier: MIT */
/*
 * Batches through the real daemon, seen from raw handler clients: what the
 * broker produces for a handler in one round arrives as one Batch datagram
 * when that handler asked for batches, as separate envelopes when it did
 * not; the broker takes batches from any handler and handles their
 * elements in order; a malformed batch drops only its sender, with the
 * reason in its Goodbye.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>

#include "itest.h"
#include "wire.h"

#define NETFN		0x30
#define CMD		0x01
#define WAIT_MS		3000

static struct itest_env	ie;
static struct rawh	ha = { .fd = -1 }, hb = { .fd = -1 },
			hc = { .fd = -1 };

static void
setup(void)
{
	cr_assert_eq(itest_env_init(&ie), 0, "temp dir");
	cr_assert_eq(itest_write_config(&ie, NULL), 0);
	cr_assert_eq(itest_daemon_start(&ie, 5000), 0,
	    "daemon did not answer on %s (log %s)", ie.csock, ie.log);
}

static void
done(void)
{
	rawh_close(&ha);
	rawh_close(&hb);
	rawh_close(&hc);
	cr_assert_eq(itest_daemon_stop(&ie, 5000), 0,
	    "the daemon did not exit 0 on SIGTERM (log %s)", ie.log);
	ITEST_ASSERT_LOGS_CLEAN(&ie);
}

static void
teardown(void)
{
	rawh_close(&ha);
	rawh_close(&hb);
	rawh_close(&hc);
	itest_env_cleanup(&ie);
}

TestSuite(batch, .fini = teardown, .timeout = 30);

/* Pack env into b (which must have room). */
static void
batch_put(struct wire_batch *b, Hnd__Envelope *env)
{
	uint8_t	buf[WIRE_MSG_MAX];
	size_t	len;

	cr_assert_gt(len = wire_pack(&env->base, buf), 0);
	cr_assert_eq(wire_batch_add(b, buf, len), 0, "batch full");
}

/* One datagram of n Sends, tags 1..n, data byte = tag. */
static void
send_batch_of_sends(struct rawh *h, int n)
{
	static struct wire_batch	b;
	Hnd__Envelope			env = HND__ENVELOPE__INIT;
	Hnd__Send			s = HND__SEND__INIT;
	const uint8_t			*d;
	uint8_t				byte;
	size_t				len;
	int				i;

	wire_batch_reset(&b);
	env.body_case = HND__ENVELOPE__BODY_SEND;
	env.send = &s;
	for (i = 1; i <= n; i++) {
		byte = (uint8_t)i;
		s.tag = (uint32_t)i;
		s.netfn = NETFN;
		s.cmd = CMD;
		s.data.data = &byte;
		s.data.len = 1;
		batch_put(&b, &env);
	}
	d = wire_batch_datagram(&b, &len);
	cr_assert_eq(d[0], WIRE_BATCH_KEY);
	cr_assert_eq(rawh_send_raw(h, d, len), 0);
}

/* Walk one datagram; each element unpacked into out[] (caller frees). */
static int
walk(const uint8_t *buf, size_t len, Hnd__Envelope **out, int max)
{
	struct wire_walk	 w;
	const uint8_t		*e;
	const char		*why = NULL;
	size_t			 elen;
	int			 r, n = 0;

	wire_walk_init(&w, buf, len);
	while ((r = wire_walk_next(&w, &e, &elen, &why)) > 0) {
		cr_assert_lt(n, max, "more envelopes than expected");
		cr_assert_not_null(out[n] = hnd__envelope__unpack(NULL, elen,
		    e), "element %d does not decode", n);
		n++;
	}
	cr_assert_eq(r, 0, "malformed batch from the broker: %s", why);
	return n;
}

Test(batch, a_handler_that_asked_gets_the_round_in_one_datagram)
{
	static struct wire_batch	 b;
	static uint8_t			 buf[WIRE_MSG_MAX + 1];
	Hnd__Envelope			*in[8], env = HND__ENVELOPE__INIT;
	Hnd__Response			 rsp = HND__RESPONSE__INIT;
	const uint8_t			*d;
	uint8_t				 byte;
	uint64_t			 ids[5];
	ssize_t				 n;
	size_t				 len;
	int				 i, got;

	setup();
	cr_assert_eq(rawh_connect_batches(&ha, ie.hsock, "batcher",
	    WAIT_MS), 0);
	cr_assert(ha.broker_batches, "the broker's Welcome does not say it "
	    "takes batches");
	cr_assert_eq(rawh_reg(&ha, NETFN, CMD), 0);
	cr_assert_eq(rawh_connect(&hb, ie.hsock, "sender", WAIT_MS), 0);

	/* Five requests in one datagram: one round of the broker. */
	send_batch_of_sends(&hb, 5);
	cr_assert_gt(n = rawh_recv_datagram(&ha, buf, WAIT_MS), 0,
	    "no requests reached the handler");
	cr_assert_eq(buf[0], WIRE_BATCH_KEY, "the five requests did not "
	    "come as a batch (first byte 0x%02x)", buf[0]);
	got = walk(buf, (size_t)n, in, 8);
	cr_assert_eq(got, 5, "batch of %d requests, 5 sent", got);
	for (i = 0; i < 5; i++) {
		cr_assert_eq(in[i]->body_case, HND__ENVELOPE__BODY_REQUEST);
		cr_assert_eq(in[i]->request->netfn, NETFN);
		cr_assert_eq(in[i]->request->data.len, 1);
		cr_assert_eq(in[i]->request->data.data[0], i + 1,
		    "request %d out of order", i);
		ids[i] = in[i]->request->id;
		hnd__envelope__free_unpacked(in[i], NULL);
	}

	/* The answers go back as one batch, last first. */
	wire_batch_reset(&b);
	env.body_case = HND__ENVELOPE__BODY_RESPONSE;
	env.response = &rsp;
	for (i = 4; i >= 0; i--) {
		byte = (uint8_t)(0x10 + i + 1);
		rsp.id = ids[i];
		rsp.cc = 0;
		rsp.data.data = &byte;
		rsp.data.len = 1;
		batch_put(&b, &env);
	}
	d = wire_batch_datagram(&b, &len);
	cr_assert_eq(rawh_send_raw(&ha, d, len), 0);

	/* The sender did not ask for batches: five separate datagrams. */
	for (i = 0; i < 5; i++) {
		cr_assert_gt(n = rawh_recv_datagram(&hb, buf, WAIT_MS), 0,
		    "send result %d of 5 missing", i + 1);
		cr_assert_neq(buf[0], WIRE_BATCH_KEY,
		    "a batch reached a client that did not ask for one");
		cr_assert_eq(walk(buf, (size_t)n, in, 1), 1);
		cr_assert_eq(in[0]->body_case, HND__ENVELOPE__BODY_SEND_RESULT);
		/* Answered last first: tags 5, 4, ... 1. */
		cr_assert_eq(in[0]->send_result->tag, 5 - i);
		cr_assert_eq(in[0]->send_result->cc, 0);
		cr_assert_eq(in[0]->send_result->data.len, 1);
		cr_assert_eq(in[0]->send_result->data.data[0], 0x10 + 5 - i);
		hnd__envelope__free_unpacked(in[0], NULL);
	}
	done();
}

Test(batch, a_handler_that_did_not_ask_gets_separate_envelopes)
{
	static uint8_t	 buf[WIRE_MSG_MAX + 1];
	Hnd__Envelope	*in[1];
	ssize_t		 n;
	int		 i;

	setup();
	cr_assert_eq(rawh_connect(&ha, ie.hsock, "plain", WAIT_MS), 0);
	cr_assert_eq(rawh_reg(&ha, NETFN, CMD), 0);
	cr_assert_eq(rawh_connect_batches(&hb, ie.hsock, "sender",
	    WAIT_MS), 0);
	send_batch_of_sends(&hb, 3);
	for (i = 0; i < 3; i++) {
		cr_assert_gt(n = rawh_recv_datagram(&ha, buf, WAIT_MS), 0,
		    "request %d of 3 missing", i + 1);
		cr_assert_neq(buf[0], WIRE_BATCH_KEY,
		    "a batch reached a handler that did not ask for one");
		cr_assert_eq(walk(buf, (size_t)n, in, 1), 1);
		cr_assert_eq(in[0]->body_case, HND__ENVELOPE__BODY_REQUEST);
		cr_assert_eq(in[0]->request->data.data[0], i + 1);
		cr_assert_eq(rawh_respond(&ha, in[0]->request->id, 0, NULL, 0),
		    0);
		hnd__envelope__free_unpacked(in[0], NULL);
	}
	done();
}

Test(batch, a_malformed_batch_drops_only_its_sender)
{
	/* A batch whose only element claims 9 bytes and has 3. */
	static const uint8_t	bad[] = { WIRE_BATCH_KEY, 0x05, 0x0a, 0x09,
				    0x01, 0x02, 0x03 };
	char			reason[256];
	struct rawh_req		rq;

	setup();
	cr_assert_eq(rawh_connect(&ha, ie.hsock, "bystander", WAIT_MS), 0);
	cr_assert_eq(rawh_reg(&ha, NETFN, CMD), 0);
	cr_assert_eq(rawh_connect_batches(&hc, ie.hsock, "garbage",
	    WAIT_MS), 0);
	cr_assert_eq(rawh_send_raw(&hc, bad, sizeof(bad)), 0);
	cr_assert_eq(rawh_wait_closed(&hc, WAIT_MS, reason, sizeof(reason)),
	    0, "the sender of a malformed batch was not dropped");
	cr_assert_not_null(strstr(reason, "malformed batch"),
	    "goodbye reason: %s", reason);

	/* Everyone else is served as before. */
	cr_assert_eq(rawh_connect(&hb, ie.hsock, "sender", WAIT_MS), 0);
	cr_assert_eq(rawh_send(&hb, 7, NETFN, 0, CMD, NULL, 0), 0);
	cr_assert_eq(rawh_wait_request(&ha, &rq, WAIT_MS), RAWH_MSG,
	    "the bystander no longer gets requests");
	done();
}
