/* SPDX-License-Identifier: MIT */
/*
 * KCS end to end: the real daemon (supervisor + broker) runs the KCS
 * driver's test build (ipmi-busdrv-kcs-emu: the shipped kcs.c and
 * busdrv.c on emu_dev_ops) on an emulated /dev/ipmi-kcs1 behind a Unix
 * socket, given in the config's [bus kcs0] section. The test plays the
 * host through emu_host_*() and the handlers with the real App handler
 * and raw handler connections, and reads the broker's counters with
 * ipmi-ctl. Only the kernel device is emulated.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "emu.h"
#include "itest.h"
#include "wire.h"

#define KCS_BUS		"kcs0"
#define APP_NCMDS	ITEST_APP_NCMDS
#define SLOW_NETFN	0x30
#define HOST_WAIT_MS	5000

static struct itest_env	 env;
static struct emu	*emu;
static char		 emusock[160];
static pid_t		 app_pid = -1;
static struct rawh	 slow = { .fd = -1 };
static struct itest_run	 run;

static void
setup(void)
{
	const char	*drv = itest_bin("IPMI_BUSDRV_KCS_EMU");

	cr_assert_not_null(drv, "IPMI_BUSDRV_KCS_EMU is not set");
	cr_assert_eq(itest_env_init(&env), 0, "temp dir");
	snprintf(emusock, sizeof(emusock), "%s/kcs1.sock", env.dir);
	cr_assert_not_null(emu = emu_start(EMU_KCS, emusock));
	cr_assert_eq(itest_write_config(&env,
	    "[bus " KCS_BUS "]\ndriver = kcs\ndevice = %s\nchannel = 1\n"
	    "driver_path = %s\n", emusock, drv), 0);
	cr_assert_eq(itest_daemon_start(&env, 5000), 0,
	    "daemon did not answer on %s (log %s)", env.csock, env.log);
	cr_assert(emu_wait_sessions(emu, 1, 5000),
	    "the KCS driver never opened the device (log %s)", env.log);
	cr_assert_eq(itest_wait_file(env.log, "bus " KCS_BUS
	    ": broker deadline", 5000), 0,
	    "the KCS driver was not welcomed (log %s)", env.log);
}

static void
teardown(void)
{
	rawh_close(&slow);
	if (app_pid > 0)
		itest_stop_pid(app_pid, 3000);
	app_pid = -1;
	itest_env_cleanup(&env);
	emu_stop(emu);
	emu = NULL;
}

/* The end of every passing test: everything stops cleanly. */
static void
done(void)
{
	rawh_close(&slow);
	if (app_pid > 0)
		cr_assert_eq(itest_stop_pid(app_pid, 3000), 0,
		    "ipmi-handler-app did not exit 0 on SIGTERM");
	app_pid = -1;
	cr_assert_eq(itest_daemon_stop(&env, 5000), 0,
	    "the daemon did not exit 0 on SIGTERM (log %s)", env.log);
	ITEST_ASSERT_LOGS_CLEAN(&env);
}

TestSuite(kcs_e2e, .init = setup, .fini = teardown, .timeout = 60);

static void
start_app(void)
{
	int	got;

	app_pid = itest_handler_start(&env, "IPMI_HANDLER_APP",
	    "app-handler.conf", "app");
	cr_assert(app_pid > 0, "the app handler did not start");
	cr_assert_eq(itest_wait_regs(&env, "app", APP_NCMDS, 5000, &got), 0,
	    "app handler registrations: expected %d, got %d", APP_NCMDS,
	    got);
}

/* A raw handler holding netfn 0x30 cmd: it answers only when told. */
static void
start_slow(uint32_t cmd)
{
	cr_assert_eq(rawh_connect(&slow, env.hsock, "slow", 5000), 0);
	cr_assert_eq(rawh_reg(&slow, SLOW_NETFN, cmd), HND__STATUS__OK);
}

/* The host sends frame and reads the response into rsp. */
static size_t
host_call(const uint8_t *frame, size_t len, uint8_t *rsp, size_t max)
{
	size_t	n;

	cr_assert_eq(emu_host_request(emu, frame, len), 0);
	n = emu_host_response(emu, rsp, max, HOST_WAIT_MS);
	cr_assert_gt(n, 0, "no response from the KCS driver (log %s)",
	    env.log);
	return n;
}

static void
slow_request(struct rawh_req *rq, uint8_t tag)
{
	cr_assert_eq(rawh_wait_request(&slow, rq, 5000), RAWH_MSG,
	    "the slow handler got no request");
	cr_assert_eq(rq->netfn, SLOW_NETFN);
	cr_assert_geq(rq->len, 1);
	cr_assert_eq(rq->data[0], tag, "expected request %02x, got %02x",
	    tag, rq->data[0]);
}

static uint64_t
counter(const char *name)
{
	uint64_t	v = 0;

	cr_assert_eq(itest_counter(&env, name, &v), 0, "no counter %s",
	    name);
	return v;
}

/* A field of the KCS bus's row in ipmi-ctl --json buses once it reaches
 * want; the driver reports its stats at most once a second. */
static uint64_t
wait_bus_field(const char *key, uint64_t want)
{
	static char	line[4096];
	int64_t		end = itest_now_ms() + 5000;
	uint64_t	v = 0;

	for (;;) {
		if (itest_ctl(&env, &run, 5000, "--json", "buses", NULL) ==
		    0 && itest_line_with(run.out, "\"name\":\"" KCS_BUS "\"",
		    NULL, line, sizeof(line)) == 0 &&
		    itest_json_u64(line, key, &v) == 0 && v >= want)
			return v;
		if (itest_now_ms() > end)
			return v;
		itest_pause_ms(50);
	}
}

/* Raise or clear SMS_ATN on the KCS bus as a handler; the Result status. */
static int
attention(uint32_t tag, bool set)
{
	Hnd__Envelope	 env_ = HND__ENVELOPE__INIT;
	Hnd__Attention	 at = HND__ATTENTION__INIT;
	Hnd__Envelope	*in;
	int		 status = -1;

	at.tag = tag;
	at.bus = KCS_BUS;
	at.set = set;
	env_.body_case = HND__ENVELOPE__BODY_ATTENTION;
	env_.attention = &at;
	cr_assert_eq(wire_send(slow.fd, &env_.base, NULL, 0), 0);
	while (status < 0) {
		cr_assert_eq(rawh_recv(&slow, &in, 5000), RAWH_MSG,
		    "no Result for attention tag %u", tag);
		if (in->body_case == HND__ENVELOPE__BODY_RESULT &&
		    in->result->tag == tag)
			status = (int)in->result->status;
		hnd__envelope__free_unpacked(in, NULL);
	}
	return status;
}

Test(kcs_e2e, get_device_id_is_answered_with_the_app_handlers_bytes)
{
	const uint8_t	rq[] = { 0x06 << 2, 0x01 };
	const uint8_t	want[] = { 0x07 << 2, 0x01, 0x00, 0x20, 0x01, 0x01,
			    0x02, 0x02, 0x00, 0xd9, 0x7e, 0x00, 0x01, 0x00 };
	uint8_t		rsp[1024];
	size_t		n;

	start_app();
	n = host_call(rq, sizeof(rq), rsp, sizeof(rsp));
	cr_assert_eq(n, sizeof(want), "response of %zu bytes", n);
	cr_assert_arr_eq(rsp, want, sizeof(want));
	cr_assert_eq(emu_write_count(emu), 1);
	cr_assert_eq(emu_refused_count(emu), 0);
	done();
}

Test(kcs_e2e, response_keeps_the_requests_lun)
{
	const uint8_t	rq[] = { SLOW_NETFN << 2 | 3, 0x07, 0x71 };
	const uint8_t	want[] = { (SLOW_NETFN + 1) << 2 | 3, 0x07, 0x00 };
	struct rawh_req	r;
	uint8_t		rsp[64];

	start_slow(0x07);
	cr_assert_eq(emu_host_request(emu, rq, sizeof(rq)), 0);
	slow_request(&r, 0x71);
	cr_assert_eq(r.lun, 3);
	cr_assert_eq(rawh_respond(&slow, r.id, 0, NULL, 0), 0);
	cr_assert_eq(emu_host_response(emu, rsp, sizeof(rsp), HOST_WAIT_MS),
	    sizeof(want));
	cr_assert_arr_eq(rsp, want, sizeof(want));
	done();
}

Test(kcs_e2e, unregistered_command_is_answered_c1_by_the_broker)
{
	const uint8_t	rq[] = { 0x0a << 2, 0x99 };
	const uint8_t	want[] = { 0x0b << 2, 0x99, 0xc1 };
	uint8_t		rsp[64];

	cr_assert_eq(host_call(rq, sizeof(rq), rsp, sizeof(rsp)),
	    sizeof(want));
	cr_assert_arr_eq(rsp, want, sizeof(want));
	done();
}

Test(kcs_e2e, new_host_request_cancels_the_one_in_the_handler)
{
	const uint8_t	a[] = { SLOW_NETFN << 2, 0x01, 0xaa };
	const uint8_t	b[] = { SLOW_NETFN << 2, 0x01, 0xbb };
	const uint8_t	want[] = { (SLOW_NETFN + 1) << 2, 0x01, 0x00, 0x22 };
	const uint8_t	late = 0x11, fresh = 0x22;
	struct rawh_req	ra, rb;
	uint8_t		rsp[64];
	uint64_t	cancelled;

	start_slow(0x01);
	cancelled = counter("requests.cancelled");
	cr_assert_eq(emu_host_request(emu, a, sizeof(a)), 0);
	slow_request(&ra, 0xaa);
	/* The host gives up on A and sends B: a new WRITE_START. */
	cr_assert_eq(emu_host_request(emu, b, sizeof(b)), 0);
	slow_request(&rb, 0xbb);
	cr_assert_eq(rawh_respond(&slow, ra.id, 0, &late, 1), 0);
	cr_assert_eq(rawh_respond(&slow, rb.id, 0, &fresh, 1), 0);
	cr_assert_eq(emu_host_response(emu, rsp, sizeof(rsp), HOST_WAIT_MS),
	    sizeof(want));
	cr_assert_arr_eq(rsp, want, sizeof(want));
	cr_assert_eq(emu_write_count(emu), 1, "the late answer to A was "
	    "written");
	cr_assert_eq(emu_refused_count(emu), 0);
	cr_assert_eq(counter("requests.cancelled"), cancelled + 1);
	cr_assert_eq(wait_bus_field("cancelled", 1), 1, "the driver did not "
	    "count the cancel:\n%s", run.out);
	done();
}

Test(kcs_e2e, answer_after_host_abort_is_refused_counted_and_survived)
{
	const uint8_t	c[] = { SLOW_NETFN << 2, 0x02, 0xcc };
	const uint8_t	d[] = { SLOW_NETFN << 2, 0x02, 0xdd };
	const uint8_t	want[] = { (SLOW_NETFN + 1) << 2, 0x02, 0x00, 0x44 };
	const uint8_t	first = 0x33, second = 0x44;
	struct rawh_req	rc, rd;
	uint8_t		rsp[64];
	int64_t		end;

	start_slow(0x02);
	cr_assert_eq(emu_host_request(emu, c, sizeof(c)), 0);
	slow_request(&rc, 0xcc);
	emu_host_abort(emu);
	cr_assert_eq(rawh_respond(&slow, rc.id, 0, &first, 1), 0);
	end = itest_now_ms() + 5000;
	while (emu_refused_count(emu) < 1 && itest_now_ms() < end)
		itest_pause_ms(10);
	cr_assert_eq(emu_refused_count(emu), 1, "the write after the abort "
	    "was not refused");
	cr_assert_eq(emu_write_count(emu), 1);
	cr_assert_eq(wait_bus_field("stale", 1), 1, "the refused answer was "
	    "not counted as stale:\n%s", run.out);

	/* The driver is still there and serves the next request. */
	cr_assert_eq(emu_host_request(emu, d, sizeof(d)), 0);
	slow_request(&rd, 0xdd);
	cr_assert_eq(rawh_respond(&slow, rd.id, 0, &second, 1), 0);
	cr_assert_eq(emu_host_response(emu, rsp, sizeof(rsp), HOST_WAIT_MS),
	    sizeof(want));
	cr_assert_arr_eq(rsp, want, sizeof(want));
	cr_assert_eq(emu_sessions(emu), 1, "the driver was restarted");
	done();
}

Test(kcs_e2e, eagain_from_a_signal_loses_no_request)
{
	const uint8_t	rq[] = { 0x06 << 2, 0x01 };
	uint8_t		rsp[1024];

	start_app();
	emu_signal_next_read(emu);
	host_call(rq, sizeof(rq), rsp, sizeof(rsp));
	cr_assert_eq(rsp[0], 0x07 << 2);
	cr_assert_eq(rsp[2], 0x00);
	cr_assert_eq(emu_sessions(emu), 1, "the driver was restarted");
	done();
}

Test(kcs_e2e, attention_is_raised_and_cleared_through_the_ioctls)
{
	unsigned	set0, clr0;

	start_slow(0x03);
	set0 = emu_ioctl_count(emu, 0xB100);
	clr0 = emu_ioctl_count(emu, 0xB101);
	cr_assert(!emu_attention(emu));
	cr_assert_eq(attention(7, true), HND__STATUS__OK);
	cr_assert(emu_attention(emu), "SMS_ATN is not set");
	cr_assert_eq(emu_ioctl_count(emu, 0xB100), set0 + 1);
	cr_assert_eq(attention(8, false), HND__STATUS__OK);
	cr_assert(!emu_attention(emu), "SMS_ATN is still set");
	cr_assert_eq(emu_ioctl_count(emu, 0xB101), clr0 + 1);
	cr_assert_eq(emu_ioctl_count(emu, 0xB102), 0, "never force-abort");
	done();
}

Test(kcs_e2e, largest_request_reaches_the_handler_whole)
{
	static uint8_t	rq[1000];
	const uint8_t	want[] = { (SLOW_NETFN + 1) << 2, 0x04, 0x00 };
	struct rawh_req	r;
	uint8_t		rsp[64];
	size_t		i;

	start_slow(0x04);
	rq[0] = SLOW_NETFN << 2;
	rq[1] = 0x04;
	for (i = 2; i < sizeof(rq); i++)
		rq[i] = (uint8_t)i;
	rq[2] = 0x77;
	cr_assert_eq(emu_host_request(emu, rq, sizeof(rq)), 0);
	slow_request(&r, 0x77);
	cr_assert_eq(r.len, 998);
	cr_assert_arr_eq(r.data + 1, rq + 3, 997);
	cr_assert_eq(rawh_respond(&slow, r.id, 0, NULL, 0), 0);
	cr_assert_eq(emu_host_response(emu, rsp, sizeof(rsp), HOST_WAIT_MS),
	    sizeof(want));
	cr_assert_arr_eq(rsp, want, sizeof(want));
	done();
}

Test(kcs_e2e, answer_longer_than_the_linux_host_reads_becomes_ca)
{
	static uint8_t	big[270];
	const uint8_t	rq[] = { SLOW_NETFN << 2, 0x05, 0x55 };
	const uint8_t	want[] = { (SLOW_NETFN + 1) << 2, 0x05, 0xca };
	struct rawh_req	r;
	uint8_t		rsp[1024];

	start_slow(0x05);
	cr_assert_eq(emu_host_request(emu, rq, sizeof(rq)), 0);
	slow_request(&r, 0x55);
	cr_assert_eq(rawh_respond(&slow, r.id, 0, big, sizeof(big)), 0);
	cr_assert_eq(emu_host_response(emu, rsp, sizeof(rsp), HOST_WAIT_MS),
	    sizeof(want));
	cr_assert_arr_eq(rsp, want, sizeof(want));
	done();
}

Test(kcs_e2e, answer_of_exactly_max_response_is_delivered)
{
	static uint8_t	data[269], rsp[1024];
	const uint8_t	rq[] = { SLOW_NETFN << 2, 0x06, 0x66 };
	struct rawh_req	r;

	memset(data, 0x5a, sizeof(data));
	start_slow(0x06);
	cr_assert_eq(emu_host_request(emu, rq, sizeof(rq)), 0);
	slow_request(&r, 0x66);
	cr_assert_eq(rawh_respond(&slow, r.id, 0, data, sizeof(data)), 0);
	cr_assert_eq(emu_host_response(emu, rsp, sizeof(rsp), HOST_WAIT_MS),
	    272);
	cr_assert_eq(rsp[2], 0x00);
	cr_assert_arr_eq(rsp + 3, data, sizeof(data));
	done();
}
