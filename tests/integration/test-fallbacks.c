/* SPDX-License-Identifier: MIT */
/*
 * The completion codes the broker answers with itself when a handler does
 * not: deadline missed, handler gone, in-flight limit, answer too large;
 * and how it treats handlers that answer late, forge ids or send garbage.
 * The deadline is 300 ms so the tests stay fast; raw handlers decide when
 * (and whether) to answer, ipmi-ctl runs in the background meanwhile.
 */
#include <criterion/criterion.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "itest.h"

#define DEADLINE_MS	300

static struct itest_env	env;

static void
start(const char *extra)
{
	cr_assert_eq(itest_env_init(&env), 0, "temp dir");
	cr_assert_eq(itest_write_config(&env, "[limits]\ndeadline_ms = %d\n%s",
	    DEADLINE_MS, extra), 0);
	cr_assert_eq(itest_daemon_start(&env, 5000), 0,
	    "daemon did not answer on %s (log %s)", env.csock, env.log);
}

static void
done(void)
{
	cr_assert_eq(itest_daemon_stop(&env, 5000), 0,
	    "the daemon did not exit 0 on SIGTERM (log %s)", env.log);
	ITEST_ASSERT_LOGS_CLEAN(&env);
}

static void
teardown(void)
{
	itest_env_cleanup(&env);
}

TestSuite(fallbacks, .fini = teardown, .timeout = 30);

/* Wait until a stats counter reaches want; returns the last value. */
static uint64_t
counter_reaches(const char *name, uint64_t want)
{
	int64_t		end = itest_now_ms() + 3000;
	uint64_t	v = 0;

	for (;;) {
		cr_assert_eq(itest_counter(&env, name, &v), 0,
		    "no counter %s in ipmi-ctl --json stats", name);
		if (v == want || itest_now_ms() >= end)
			return v;
		itest_pause_ms(10);
	}
}

/* Finish a background ipmi-ctl --json send; returns the cc. */
static unsigned int
finish_json(struct itest_run *r, uint8_t *data, size_t size, size_t *len)
{
	uint64_t	cc;

	itest_run_finish(r, 10000);
	cr_assert_eq(itest_json_u64(r->out, "cc", &cc), 0,
	    "ipmi-ctl exit %d, out '%s', err '%s'", r->status, r->out, r->err);
	if (data != NULL)
		cr_assert_eq(itest_json_bytes(r->out, "data", data, size,
		    len), 0, "%s", r->out);
	return (unsigned int)cc;
}

/* Send 0x30/cmd in the background and wait for the raw handler to get it. */
static void
send_to(struct rawh *h, struct itest_run *r, const char *cmd,
    struct rawh_req *rq)
{
	cr_assert_eq(itest_ctl_start(&env, r, "--json", "send", "0x30", cmd,
	    NULL), 0);
	cr_assert_eq(rawh_wait_request(h, rq, 3000), RAWH_MSG,
	    "handler %s did not get 0x30/%s", h->name, cmd);
}

Test(fallbacks, a_stalled_request_is_answered_c3_after_the_deadline)
{
	struct rawh		h;
	struct rawh_req		rq;
	struct itest_run	r;
	uint64_t		us, n;

	start("");
	cr_assert_eq(rawh_connect(&h, env.hsock, "staller", 3000), 0);
	cr_assert_eq(rawh_reg(&h, 0x30, 0x01), HND__STATUS__OK);
	send_to(&h, &r, "0x01", &rq);
	cr_assert_eq(rq.deadline_ms, DEADLINE_MS, "the handler was told %u ms",
	    rq.deadline_ms);
	cr_assert_eq(finish_json(&r, NULL, 0, NULL), 0xc3);
	cr_assert_eq(r.status, 1);
	cr_assert(strstr(r.out, "\"handler\":\"broker\"") != NULL, "%s",
	    r.out);
	cr_assert_eq(itest_json_u64(r.out, "latency_us", &us), 0);
	cr_log_info("0xC3 after %llu us (broker), ipmi-ctl ran %ld ms",
	    (unsigned long long)us, r.elapsed_ms);
	cr_assert(us >= 250000, "answered after %llu us, deadline %d ms",
	    (unsigned long long)us, DEADLINE_MS);
	cr_assert(r.elapsed_ms >= 250 && r.elapsed_ms < 3000,
	    "ipmi-ctl took %ld ms", r.elapsed_ms);
	cr_assert_eq(n = counter_reaches("fallback.timeout", 1), 1,
	    "fallback.timeout = %llu", (unsigned long long)n);
	rawh_close(&h);
	done();
}

Test(fallbacks, the_timeout_code_comes_from_the_config)
{
	struct rawh		h;
	struct rawh_req		rq;
	struct itest_run	r;

	start("[fallback]\ntimeout = 0xd5\n");
	cr_assert_eq(rawh_connect(&h, env.hsock, "staller", 3000), 0);
	cr_assert_eq(rawh_reg(&h, 0x30, 0x01), HND__STATUS__OK);
	send_to(&h, &r, "0x01", &rq);
	cr_assert_eq(finish_json(&r, NULL, 0, NULL), 0xd5, "%s", r.out);
	rawh_close(&h);
	done();
}

Test(fallbacks, a_handler_killed_mid_request_yields_ce)
{
	struct rawh_child	c;
	struct itest_run	r;
	Hnd__Key		k = rawh_key(0x30, false, 0x03);
	char			line[64];

	start("");
	cr_assert_eq(rawh_child_start(&c, env.hsock, "doomed", &k, 1, true, 0,
	    NULL, 0), 0);
	cr_assert_eq(rawh_child_line(&c, line, sizeof(line), 5000), 0);
	cr_assert(strncmp(line, "ok ", 3) == 0, "%s", line);
	cr_assert_eq(itest_ctl_start(&env, &r, "--json", "send", "0x30",
	    "0x03", NULL), 0);
	cr_assert_eq(rawh_child_line(&c, line, sizeof(line), 3000), 0,
	    "the handler never got the request");
	cr_assert(strncmp(line, "req ", 4) == 0, "%s", line);
	cr_assert_eq(kill(c.pid, SIGKILL), 0);
	cr_assert_eq(finish_json(&r, NULL, 0, NULL), 0xce, "%s", r.out);
	cr_log_info("0xCE after %ld ms", r.elapsed_ms);
	cr_assert(r.elapsed_ms < DEADLINE_MS + 2000);
	rawh_child_stop(&c);
	cr_assert_eq(counter_reaches("fallback.disconnected", 1), 1);
	done();
}

Test(fallbacks, a_late_answer_is_dropped_and_counted_and_the_handler_stays)
{
	struct rawh		h;
	struct rawh_req		rq;
	struct itest_run	r;
	static const uint8_t	byte = 0x42;
	uint8_t			data[16];
	size_t			len;
	uint64_t		late_id;

	start("");
	cr_assert_eq(rawh_connect(&h, env.hsock, "slowpoke", 3000), 0);
	cr_assert_eq(rawh_reg(&h, 0x30, 0x04), HND__STATUS__OK);
	send_to(&h, &r, "0x04", &rq);
	late_id = rq.id;
	cr_assert_eq(finish_json(&r, NULL, 0, NULL), 0xc3, "%s", r.out);
	cr_assert_eq(rawh_respond(&h, late_id, 0, &byte, 1), 0);
	cr_assert_eq(counter_reaches("answers.late", 1), 1);
	cr_assert_eq(counter_reaches("answers.forged", 0), 0);

	/* Still connected and serving. */
	send_to(&h, &r, "0x04", &rq);
	cr_assert(rq.id > late_id, "ids increase: %llu after %llu",
	    (unsigned long long)rq.id, (unsigned long long)late_id);
	cr_assert_eq(rawh_respond(&h, rq.id, 0, &byte, 1), 0);
	cr_assert_eq(finish_json(&r, data, sizeof(data), &len), 0, "%s", r.out);
	cr_assert(len == 1 && data[0] == 0x42, "%s", r.out);
	cr_assert_eq(itest_ctl(&env, &r, 5000, "--json", "handlers", NULL),
	    0);
	cr_assert(strstr(r.out, "\"late\":1") != NULL, "%s", r.out);
	rawh_close(&h);
	done();
}

/* A second handler keeps serving 0x30/0x07 while the first is dropped. */
static void
still_serves(struct rawh *h)
{
	struct rawh_req		rq;
	struct itest_run	r;
	uint8_t			data[16];
	size_t			len;

	send_to(h, &r, "0x07", &rq);
	cr_assert_eq(rawh_respond(h, rq.id, 0, "\x07", 1), 0);
	cr_assert_eq(finish_json(&r, data, sizeof(data), &len), 0, "%s", r.out);
	cr_assert(len == 1 && data[0] == 0x07, "%s", r.out);
}

Test(fallbacks, a_forged_answer_id_drops_that_handler_only)
{
	struct rawh	forger, honest;
	char		reason[256];
	uint64_t	n;

	start("");
	cr_assert_eq(rawh_connect(&forger, env.hsock, "forger", 3000), 0);
	cr_assert_eq(rawh_connect(&honest, env.hsock, "honest", 3000), 0);
	cr_assert_eq(rawh_reg(&forger, 0x30, 0x06), HND__STATUS__OK);
	cr_assert_eq(rawh_reg(&honest, 0x30, 0x07), HND__STATUS__OK);
	cr_assert_eq(rawh_respond(&forger, (uint64_t)1 << 40, 0, NULL, 0), 0);
	cr_assert_eq(rawh_wait_closed(&forger, 3000, reason, sizeof(reason)),
	    0, "the forger was not disconnected");
	cr_assert(strstr(reason, "never issued") != NULL, "goodbye: '%s'",
	    reason);
	cr_assert_eq(itest_wait_file(env.log, "dropped: answer with an id "
	    "never issued", 3000), 0, "log %s", env.log);
	cr_assert_eq(n = counter_reaches("answers.forged", 1), 1, "%llu",
	    (unsigned long long)n);
	cr_assert_eq(counter_reaches("dropped.handlers", 1), 1);
	cr_assert_eq(itest_wait_regs(&env, "forger", 0, 3000, NULL), 0);
	still_serves(&honest);
	rawh_close(&forger);
	rawh_close(&honest);
	done();
}

Test(fallbacks, a_garbage_datagram_drops_only_its_sender_and_the_log_says_why)
{
	static const uint8_t	junk[] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	    0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 0x13, 0x37, 0x00, 0x9c };
	Hnd__Envelope		*env_check;
	struct rawh		bad, good;
	char			reason[256];

	/* Make sure the bytes really are garbage to protobuf-c. */
	env_check = hnd__envelope__unpack(NULL, sizeof(junk), junk);
	cr_assert_null(env_check, "the junk decodes; pick other bytes");

	start("");
	cr_assert_eq(rawh_connect(&bad, env.hsock, "babbler", 3000), 0);
	cr_assert_eq(rawh_connect(&good, env.hsock, "honest", 3000), 0);
	cr_assert_eq(rawh_reg(&good, 0x30, 0x07), HND__STATUS__OK);
	cr_assert_eq(rawh_send_raw(&bad, junk, sizeof(junk)), 0);
	cr_assert_eq(rawh_wait_closed(&bad, 3000, reason, sizeof(reason)), 0,
	    "the sender of garbage was not disconnected");
	cr_assert_eq(itest_wait_file(env.log, "handler babbler[", 3000), 0);
	cr_assert_eq(itest_wait_file(env.log, "dropped: message does not "
	    "decode", 3000), 0, "log %s does not say why", env.log);
	still_serves(&good);
	cr_assert_eq(counter_reaches("dropped.handlers", 1), 1);
	rawh_close(&bad);
	rawh_close(&good);
	done();
}

Test(fallbacks, the_third_concurrent_request_past_a_limit_of_two_gets_c0)
{
	struct rawc	c[3];
	struct rawh	h;
	struct rawh_req	rq;
	uint8_t		data[16];
	size_t		len;
	uint32_t	cc;
	int64_t		t0;
	int		i;

	start("inflight_per_handler = 2\n");
	cr_assert_eq(rawh_connect(&h, env.hsock, "narrow", 3000), 0);
	cr_assert_eq(rawh_reg(&h, 0x30, 0x08), HND__STATUS__OK);
	for (i = 0; i < 3; i++)
		cr_assert_eq(rawc_connect(&c[i], env.csock, 3000), 0);
	for (i = 0; i < 2; i++) {
		cr_assert_eq(rawc_send(&c[i], 0x30, 0, 0x08, NULL, 0), 0);
		cr_assert_eq(rawh_wait_request(&h, &rq, 3000), RAWH_MSG,
		    "request %d did not reach the handler", i + 1);
	}
	t0 = itest_now_ms();
	cr_assert_eq(rawc_send(&c[2], 0x30, 0, 0x08, NULL, 0), 0);
	cr_assert_eq(rawc_wait_result(&c[2], 3000, &cc, data, &len),
	    RAWH_MSG);
	cr_log_info("0xC0 after %lld ms", (long long)(itest_now_ms() - t0));
	cr_assert_eq(cc, 0xc0, "third request: cc 0x%02x", cc);
	cr_assert(itest_now_ms() - t0 < DEADLINE_MS, "0xC0 must come at "
	    "once, not after the deadline");
	cr_assert_eq(rawh_wait_request(&h, &rq, 0), RAWH_TIMEOUT,
	    "the third request reached the handler");
	for (i = 0; i < 2; i++) {
		cr_assert_eq(rawc_wait_result(&c[i], 3000, &cc, data, &len),
		    RAWH_MSG);
		cr_assert_eq(cc, 0xc3, "request %d: cc 0x%02x", i + 1, cc);
	}
	cr_assert_eq(counter_reaches("fallback.busy", 1), 1);
	for (i = 0; i < 3; i++)
		rawc_close(&c[i]);
	rawh_close(&h);
	done();
}

Test(fallbacks, an_answer_larger_than_the_ctl_bus_carries_gets_ca)
{
	struct rawh		h;
	struct rawh_req		rq;
	struct itest_run	r;
	uint8_t			big[100], data[16];
	size_t			len;

	memset(big, 0x5a, sizeof(big));
	start("[ctl]\nmax_response = 40\n");
	cr_assert_eq(rawh_connect(&h, env.hsock, "verbose", 3000), 0);
	cr_assert_eq(rawh_reg(&h, 0x30, 0x0b), HND__STATUS__OK);
	send_to(&h, &r, "0x0b", &rq);
	cr_assert_eq(rawh_respond(&h, rq.id, 0, big, sizeof(big)), 0);
	cr_assert_eq(finish_json(&r, data, sizeof(data), &len), 0xca, "%s", r.out);
	cr_assert_eq(len, 0);
	cr_assert_eq(counter_reaches("fallback.too_large", 1), 1);

	/* 40 bytes fit. */
	send_to(&h, &r, "0x0b", &rq);
	cr_assert_eq(rawh_respond(&h, rq.id, 0, big, 40), 0);
	cr_assert_eq(finish_json(&r, NULL, 0, NULL), 0, "%s", r.out);
	rawh_close(&h);
	done();
}
