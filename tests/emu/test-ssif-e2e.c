/* SPDX-License-Identifier: MIT */
/*
 * SSIF end to end: the real daemon (supervisor + broker) runs the SSIF
 * driver, built on the emulated /dev/ipmi-ssif-host (emu-ssif.c), from a
 * [bus] section; the real App handler and raw handlers answer. The test
 * plays the host through the emulator: it sends ipmi_ssif_msg frames and
 * reads the responses the driver wrote.
 *
 * What SSIF adds to the common path is time: the kernel stops accepting a
 * response 500 ms after the request arrived. So the broker must clamp its
 * deadline below that and answer 0xC3 for a stalled handler while the
 * host still waits; an answer that reaches the device after the timer
 * fired is refused with EINVAL, counted stale, and the driver carries on.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "control.pb-c.h"
#include "emu.h"
#include "wire.h"
#include "itest.h"

#define BUS		"ssif0"
#define SSIF_MSG	258
#define KERNEL_MS	500

static struct itest_env	 env;
static struct emu	*emu;
static char		 emu_path[128];
static pid_t		 app = -1;
static uint32_t		 deadline_ms;	/* the Welcome's, from the log */

/* The "broker deadline N ms" line the driver logs on its Welcome. */
static int
welcome_deadline(uint32_t *ms)
{
	char	*log, *p;
	int	 r = -1;

	if ((log = itest_read_file(env.log)) == NULL)
		return -1;
	if ((p = strstr(log, "broker deadline ")) != NULL &&
	    sscanf(p, "broker deadline %u ms", ms) == 1)
		r = 0;
	free(log);
	return r;
}

static void
setup(void)
{
	const char	*drv = itest_bin("IPMI_BUSDRV_SSIF_EMU");

	cr_assert_not_null(drv, "IPMI_BUSDRV_SSIF_EMU is not set");
	cr_assert_eq(itest_env_init(&env), 0);
	snprintf(emu_path, sizeof(emu_path), "%s/ssif.sock", env.dir);
	cr_assert_not_null(emu = emu_start(EMU_SSIF, emu_path));
	cr_assert_eq(itest_write_config(&env, "[bus " BUS "]\n"
	    "driver = ssif\ndevice = %s\nchannel = 1\ndriver_path = %s\n",
	    emu_path, drv), 0);
	cr_assert_eq(itest_daemon_start(&env, 10000), 0, "daemon: see %s",
	    env.log);
	cr_assert(emu_wait_sessions(emu, 1, 5000), "no driver session");
	cr_assert_eq(itest_wait_file(env.log, "broker deadline", 5000), 0,
	    "the driver got no Welcome: see %s", env.log);
	cr_assert_eq(welcome_deadline(&deadline_ms), 0);
}

static void
teardown(void)
{
	if (app > 0)
		itest_stop_pid(app, 3000);
	app = -1;
	if (env.pid > 0)
		itest_daemon_stop(&env, 5000);
	if (emu != NULL)
		emu_stop(emu);
	emu = NULL;
	itest_env_cleanup(&env);
}

/* The end of every test: all stop cleanly, no sanitizer reports. */
static void
done(void)
{
	if (app > 0)
		itest_stop_pid(app, 3000);
	app = -1;
	cr_assert_eq(itest_daemon_stop(&env, 5000), 0,
	    "the daemon did not exit 0 (log %s)", env.log);
	ITEST_ASSERT_LOGS_CLEAN(&env);
}

TestSuite(ssif_e2e, .init = setup, .fini = teardown, .timeout = 60);

static void
start_app(void)
{
	int	got;

	app = itest_handler_start(&env, "IPMI_HANDLER_APP",
	    "app-handler.conf", "app");
	cr_assert(app > 0);
	/* As in integration/test-bus.c: what app-handler.conf registers. */
	cr_assert_eq(itest_wait_regs(&env, "app", ITEST_APP_NCMDS, 5000, &got), 0,
	    "app registrations: %d", got);
}

/* The host sends [u32 len][netfn<<2|lun][cmd][data...]. */
static void
host_send(uint8_t netfn, uint8_t cmd, const uint8_t *data, size_t dlen)
{
	uint8_t		f[SSIF_MSG];
	uint32_t	len = (uint32_t)(2 + dlen);

	memcpy(f, &len, 4);
	f[4] = (uint8_t)(netfn << 2);
	f[5] = cmd;
	if (dlen > 0)
		memcpy(f + 6, data, dlen);
	cr_assert_eq(emu_host_request(emu, f, 4 + len), 0);
}

/* Take the next response within ms; check its frame; return its cc. */
static int
host_response(uint8_t netfn, uint8_t cmd, int ms, uint8_t *f, size_t *n)
{
	uint32_t	len;

	*n = emu_host_response(emu, f, SSIF_MSG, ms);
	if (*n == 0)
		return -1;
	cr_assert_geq(*n, 7);
	memcpy(&len, f, 4);
	cr_assert_eq(len, *n - 4, "u32 len %u for %zu bytes", len, *n);
	cr_assert_eq(f[4], (netfn + 1) << 2, "netfn/lun 0x%02x", f[4]);
	cr_assert_eq(f[5], cmd);
	return f[6];
}

static void
get_device_id_is_answered(void)
{
	uint8_t	f[SSIF_MSG];
	size_t	n;
	int	cc;

	host_send(0x06, 0x01, NULL, 0);
	cc = host_response(0x06, 0x01, 2000, f, &n);
	cr_assert_eq(cc, 0x00, "Get Device ID cc %d", cc);
	cr_assert(n == 7 + 11 || n == 7 + 15, "Get Device ID: %zu bytes", n);
}

/* BusInfo.stale for our bus, from the control socket. */
static int
bus_stale(uint64_t *stale)
{
	Ctl__Envelope	 env_out = CTL__ENVELOPE__INIT, *in;
	Ctl__ListBuses	 lb = CTL__LIST_BUSES__INIT;
	struct rawc	 c;
	uint8_t		 buf[WIRE_MSG_MAX + 1];
	struct pollfd	 pfd;
	ssize_t		 n;
	int		 r = -1, done = 0;

	if (rawc_connect(&c, env.csock, 2000) < 0)
		return -1;
	env_out.body_case = CTL__ENVELOPE__BODY_LIST_BUSES;
	env_out.list_buses = &lb;
	if (wire_send(c.fd, &env_out.base, NULL, 0) < 0)
		goto out;
	while (!done) {
		pfd.fd = c.fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, 2000) <= 0 ||
		    (n = wire_recv(c.fd, buf, NULL, NULL)) <= 0 ||
		    (in = ctl__envelope__unpack(NULL, (size_t)n, buf)) == NULL)
			goto out;
		if (in->body_case == CTL__ENVELOPE__BODY_BUS_INFO &&
		    strcmp(in->bus_info->name, BUS) == 0) {
			*stale = in->bus_info->stale;
			r = 0;
		}
		done = in->body_case != CTL__ENVELOPE__BODY_BUS_INFO;
		ctl__envelope__free_unpacked(in, NULL);
	}
out:
	rawc_close(&c);
	return r;
}

Test(ssif_e2e, the_broker_deadline_on_ssif_is_below_the_kernels_500_ms)
{
	cr_log_info("ssif: broker deadline %u ms", deadline_ms);
	cr_assert(deadline_ms > 0 && deadline_ms < KERNEL_MS,
	    "deadline %u ms, the kernel drops answers at %d ms", deadline_ms,
	    KERNEL_MS);
	done();
}

Test(ssif_e2e, get_device_id_from_the_host_is_answered_by_the_app_handler)
{
	start_app();
	get_device_id_is_answered();
	cr_assert_eq(emu_refused_count(emu), 0);
	done();
}

Test(ssif_e2e, an_unregistered_command_is_answered_c1)
{
	uint8_t	f[SSIF_MSG];
	size_t	n;

	host_send(0x30, 0x7f, NULL, 0);
	cr_assert_eq(host_response(0x30, 0x7f, 2000, f, &n), 0xc1);
	cr_assert_eq(n, 7);
	done();
}

Test(ssif_e2e, a_stalled_handler_is_answered_c3_before_the_kernel_gives_up)
{
	Hnd__Key		k = rawh_key(0x30, false, 0x01);
	struct rawh_child	c;
	char			line[64];
	uint8_t			f[SSIF_MSG];
	int64_t			t0, took;
	size_t			n;

	cr_assert_eq(rawh_child_start(&c, env.hsock, "stall", &k, 1, true,
	    0, NULL, 0), 0);
	cr_assert_eq(rawh_child_line(&c, line, sizeof(line), 5000), 0);
	cr_assert_eq(strncmp(line, "ok", 2), 0, "%s", line);
	t0 = itest_now_ms();
	host_send(0x30, 0x01, NULL, 0);
	cr_assert_eq(host_response(0x30, 0x01, KERNEL_MS, f, &n), 0xc3,
	    "no 0xC3 within %d ms", KERNEL_MS);
	took = itest_now_ms() - t0;
	cr_log_info("0xC3 after %lld ms", (long long)took);
	cr_assert_lt(took, KERNEL_MS);
	cr_assert_eq(emu_refused_count(emu), 0,
	    "the device took the answer: it was in time");
	rawh_child_stop(&c);
	done();
}

Test(ssif_e2e, a_handler_answering_after_500_ms_never_reaches_the_host)
{
	struct rawh	h;
	struct rawh_req	rq;
	uint8_t		f[SSIF_MSG];
	int64_t		t0;
	size_t		n;

	start_app();
	cr_assert_eq(rawh_connect(&h, env.hsock, "late", 5000), 0);
	cr_assert_eq(rawh_reg(&h, 0x30, 0x02), HND__STATUS__OK);
	t0 = itest_now_ms();
	host_send(0x30, 0x02, NULL, 0);
	cr_assert_eq(rawh_wait_request(&h, &rq, 2000), RAWH_MSG);
	cr_assert_eq(host_response(0x30, 0x02, KERNEL_MS, f, &n), 0xc3);
	itest_pause_ms((int)(KERNEL_MS + 100 - (itest_now_ms() - t0)));
	cr_assert_eq(rawh_respond(&h, rq.id, 0x00, "\x01", 1), 0);
	cr_assert_eq(emu_host_response(emu, f, sizeof(f), 300), 0,
	    "the late answer reached the host");
	cr_assert_eq(emu_write_count(emu), 1);
	get_device_id_is_answered();
	rawh_close(&h);
	done();
}

Test(ssif_e2e, an_answer_after_the_kernel_timer_fired_is_refused_and_stale)
{
	struct rawh	h;
	struct rawh_req	rq;
	uint64_t	stale0 = 0, stale = 0;
	uint8_t		f[SSIF_MSG];
	int64_t		end;

	start_app();
	cr_assert_eq(bus_stale(&stale0), 0);
	cr_assert_eq(rawh_connect(&h, env.hsock, "slow", 5000), 0);
	cr_assert_eq(rawh_reg(&h, 0x30, 0x03), HND__STATUS__OK);
	host_send(0x30, 0x03, NULL, 0);
	cr_assert_eq(rawh_wait_request(&h, &rq, 2000), RAWH_MSG);
	/* The kernel's RESPONSE_TIMEOUT fires before the handler answers
	 * (as when the driver read the request late). */
	emu_host_abort(emu);
	cr_assert_eq(rawh_respond(&h, rq.id, 0x00, "\x01", 1), 0);
	end = itest_now_ms() + 3000;
	while (emu_refused_count(emu) == 0 && itest_now_ms() < end)
		itest_pause_ms(5);
	cr_assert_eq(emu_refused_count(emu), 1, "the write was not refused");
	cr_assert_eq(emu_host_response(emu, f, sizeof(f), 100), 0);
	/* The driver reports stats at most once a second. */
	end = itest_now_ms() + 4000;
	while (bus_stale(&stale) == 0 && stale == stale0 &&
	    itest_now_ms() < end)
		itest_pause_ms(50);
	cr_assert_eq(stale, stale0 + 1, "stale %llu -> %llu",
	    (unsigned long long)stale0, (unsigned long long)stale);
	get_device_id_is_answered();
	cr_assert_eq(emu_sessions(emu), 1, "the driver was restarted");
	rawh_close(&h);
	done();
}

Test(ssif_e2e, a_new_host_request_replaces_the_outstanding_one)
{
	Hnd__Key		k = rawh_key(0x30, false, 0x04);
	struct rawh_child	c;
	char			line[64];
	uint8_t			f[SSIF_MSG];
	size_t			n;

	start_app();
	cr_assert_eq(rawh_child_start(&c, env.hsock, "stall", &k, 1, true,
	    0, NULL, 0), 0);
	cr_assert_eq(rawh_child_line(&c, line, sizeof(line), 5000), 0);
	host_send(0x30, 0x04, NULL, 0);
	cr_assert_eq(rawh_child_line(&c, line, sizeof(line), 2000), 0);
	get_device_id_is_answered();
	cr_assert_eq(emu_host_response(emu, f, sizeof(f), KERNEL_MS + 100),
	    0, "an answer to the replaced request reached the host");
	n = emu_write_count(emu);
	cr_assert_eq(n, 1, "%zu writes", n);
	rawh_child_stop(&c);
	done();
}

Test(ssif_e2e, the_largest_request_and_response_cross_intact_and_larger_is_ca)
{
	struct rawh	h;
	struct rawh_req	rq;
	uint8_t		req[252], rsp[252], f[SSIF_MSG];
	size_t		n, i;

	for (i = 0; i < sizeof(req); i++) {
		req[i] = (uint8_t)i;
		rsp[i] = (uint8_t)(0xff - i);
	}
	cr_assert_eq(rawh_connect(&h, env.hsock, "big", 5000), 0);
	cr_assert_eq(rawh_reg(&h, 0x30, 0x05), HND__STATUS__OK);
	host_send(0x30, 0x05, req, sizeof(req));
	cr_assert_eq(rawh_wait_request(&h, &rq, 2000), RAWH_MSG);
	cr_assert_eq(rq.len, sizeof(req));
	cr_assert_arr_eq(rq.data, req, sizeof(req));
	cr_assert_eq(rq.channel, 1);
	cr_assert_eq(rawh_respond(&h, rq.id, 0x00, rsp, 251), 0);
	cr_assert_eq(host_response(0x30, 0x05, 2000, f, &n), 0x00);
	cr_assert_eq(n, SSIF_MSG);
	cr_assert_arr_eq(f + 7, rsp, 251);

	host_send(0x30, 0x05, NULL, 0);
	cr_assert_eq(rawh_wait_request(&h, &rq, 2000), RAWH_MSG);
	cr_assert_eq(rawh_respond(&h, rq.id, 0x00, rsp, 252), 0);
	cr_assert_eq(host_response(0x30, 0x05, 2000, f, &n), 0xca);
	cr_assert_eq(n, 7);
	rawh_close(&h);
	done();
}
