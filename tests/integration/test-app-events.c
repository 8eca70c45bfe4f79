/* SPDX-License-Identifier: MIT */
/*
 * The App handler's queues, GUID and support bits through the real daemon.
 * The test process is itself a libipmiclient handler: what it sends goes
 * through the broker and reaches the App handler on the internal channel,
 * as the SEL handler's forwarded Platform Events do. The host side is
 * played with ipmi-ctl.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ipmi/ipmiclient.h>

#include "itest.h"

/* conf/app-handler.conf's 12 host commands, and 2 on the internal channel. */
#define APP_NREGS	14

static struct itest_env	env;
static pid_t		app_pid = -1;
static struct ipmic	*client;

static const uint8_t event8[] = { 0x41, 0x04, 0x01, 0x30, 0x01, 0x57, 0xff,
    0xff };

/* Start the App handler with the shipped config, its state in env.dir. */
static void
app_start(void)
{
	char	cpath[192], log[192], sock[192], state[192];
	char	*argv[4], *envp[] = { sock, state, NULL };
	int	got;

	snprintf(cpath, sizeof(cpath), "%s/conf/app-handler.conf",
	    itest_bin("IPMI_SRCDIR"));
	snprintf(log, sizeof(log), "%s/app.log", env.dir);
	snprintf(sock, sizeof(sock), "IPMI_BROKER_SOCKET=%s", env.hsock);
	snprintf(state, sizeof(state), "STATE_DIRECTORY=%s", env.dir);
	argv[0] = (char *)itest_bin("IPMI_HANDLER_APP");
	argv[1] = "-c";
	argv[2] = cpath;
	argv[3] = NULL;
	app_pid = itest_spawn(log, argv, envp);
	cr_assert(app_pid > 0);
	cr_assert_eq(itest_wait_regs(&env, "app", APP_NREGS, 5000, &got), 0,
	    "app registrations: expected %d, got %d", APP_NREGS, got);
}

static void
app_stop(void)
{
	cr_assert_eq(itest_stop_pid(app_pid, 3000), 0,
	    "ipmi-handler-app did not exit 0 on SIGTERM");
	app_pid = -1;
}

static void
setup(void)
{
	int	rv;

	cr_assert_eq(itest_env_init(&env), 0, "temp dir");
	cr_assert_eq(itest_write_config(&env, NULL), 0);
	cr_assert_eq(itest_daemon_start(&env, 5000), 0,
	    "daemon did not answer on %s (log %s)", env.csock, env.log);
	app_start();
	client = ipmic_new("evtest");
	cr_assert_not_null(client);
	cr_assert_eq(ipmic_set_socket(client, env.hsock), 0);
	rv = ipmic_connect(client, 5000);
	cr_assert_eq(rv, 0, "connect: %s", ipmic_strerror(rv));
}

static void
done(void)
{
	client = ipmic_free(client);
	if (app_pid > 0)
		app_stop();
	cr_assert_eq(itest_daemon_stop(&env, 5000), 0,
	    "the daemon did not exit 0 on SIGTERM (log %s)", env.log);
	ITEST_ASSERT_LOGS_CLEAN(&env);
}

static void
teardown(void)
{
	client = ipmic_free(client);
	if (app_pid > 0)
		itest_stop_pid(app_pid, 3000);
	app_pid = -1;
	itest_env_cleanup(&env);
}

TestSuite(app_events, .fini = teardown, .timeout = 30);

/* The host's view: ipmi-ctl send 0x06 CMD [BYTE]: cc and data. */
static unsigned int
host(const char *cmd, const char *arg, uint8_t *data, size_t *len)
{
	static struct itest_run	r;
	unsigned int		cc = 0x100;

	cr_assert_eq(itest_send_json(&env, &r, &cc, data, len, "0x06", cmd,
	    arg, NULL), 0, "send 0x06 %s: %s %s", cmd, r.out, r.err);
	return cc;
}

static uint8_t
host_flags(void)
{
	uint8_t	data[4096];
	size_t	len;

	cr_assert_eq(host("0x31", NULL, data, &len), 0);
	cr_assert_eq(len, 1);
	return data[0];
}

/* What another handler sends through the broker. */
static uint8_t
internal_call(uint8_t netfn, uint8_t cmd, const uint8_t *data, size_t len)
{
	uint8_t	cc = 0xff, rsp[64];
	size_t	rlen = sizeof(rsp);
	int	rv;

	rv = ipmic_call(client, netfn, 0, cmd, data, len, &cc, rsp, &rlen,
	    5000);
	cr_assert_eq(rv, 0, "ipmic_call: %s", ipmic_strerror(rv));
	return cc;
}

Test(app_events, a_platform_event_from_the_host_side_is_not_the_apps)
{
	uint8_t			data[4096];
	size_t			len;
	unsigned int		cc;
	struct itest_run	r;

	setup();
	cr_assert_eq(itest_send_json(&env, &r, &cc, data, &len, "0x04",
	    "0x02", "0x41", "0x04", "0x01", "0x30", "0x01", "0x57", "0xff",
	    "0xff", NULL), 0, "%s", r.out);
	cr_assert_eq(cc, 0xc1, "0x04/0x02 on the ctl channel: cc 0x%02x", cc);
	cr_assert_eq(host_flags(), 0x00);
	done();
}

Test(app_events, a_forwarded_event_fills_the_buffer_until_the_host_reads_it)
{
	uint8_t	data[4096];
	size_t	len;

	setup();
	cr_assert_eq(host("0x2e", "0x04", data, &len), 0, "set enables");
	cr_assert_eq(internal_call(0x04, 0x02, event8, sizeof(event8)), 0);
	cr_assert_eq(host_flags(), 0x02, "event message buffer full");
	cr_assert_eq(host("0x35", NULL, data, &len), 0);
	cr_assert_eq(len, 16);
	cr_assert_eq(data[2], 0x02);
	cr_assert_eq(data[7], 0x41);
	cr_assert_arr_eq(data + 9, event8 + 1, 7);
	cr_assert_eq(host_flags(), 0x00);
	cr_assert_eq(host("0x35", NULL, data, &len), 0x80, "read once");
	done();
}

Test(app_events, an_event_is_dropped_while_the_host_has_not_enabled_the_buffer)
{
	setup();
	cr_assert_eq(internal_call(0x04, 0x02, event8, sizeof(event8)), 0);
	cr_assert_eq(host_flags(), 0x00);
	done();
}

Test(app_events, send_message_queues_a_message_for_get_message)
{
	static const uint8_t	msg[] = { 0x0f, 0x18, 0x01, 0xaa };
	static const uint8_t	want[] = { 0x0d, 0x18, 0x01, 0xaa };
	uint8_t			data[4096];
	size_t			len;

	setup();
	cr_assert_eq(internal_call(0x06, 0x34, msg, sizeof(msg)), 0);
	cr_assert_eq(host_flags(), 0x01, "receive message available");
	cr_assert_eq(host("0x33", NULL, data, &len), 0);
	cr_assert_eq(len, sizeof(want));
	cr_assert_arr_eq(data, want, sizeof(want));
	cr_assert_eq(host_flags(), 0x00);
	cr_assert_eq(host("0x33", NULL, data, &len), 0x80);
	done();
}

Test(app_events, the_guid_is_made_once_and_kept_across_a_restart)
{
	static const uint8_t	zero[16];
	uint8_t			first[4096], again[4096];
	size_t			len;
	char			path[192], *text;

	setup();
	cr_assert_eq(host("0x37", NULL, first, &len), 0);
	cr_assert_eq(len, 16);
	cr_assert(memcmp(first, zero, 16) != 0, "an all-zero GUID");
	cr_assert_eq(first[9] >> 4, 4, "version 4: byte 9 is 0x%02x",
	    first[9]);
	snprintf(path, sizeof(path), "%s/app-guid", env.dir);
	text = itest_read_file(path);
	cr_assert_not_null(text, "no %s", path);
	cr_assert_eq(strlen(text), 37, "%s", text);
	free(text);
	app_stop();
	app_start();
	cr_assert_eq(host("0x37", NULL, again, &len), 0);
	cr_assert_arr_eq(again, first, 16, "a new GUID after the restart");
	cr_assert_eq(host("0x08", NULL, again, &len), 0);
	cr_assert_arr_eq(again, first, 16, "device GUID");
	done();
}

/* Get Device ID's byte 6, asked until it equals want or 5 s pass. */
static int
support_becomes(uint8_t want, uint8_t *got)
{
	uint8_t	data[4096];
	size_t	len;
	int64_t	end = itest_now_ms() + 5000;

	for (;;) {
		cr_assert_eq(host("0x01", NULL, data, &len), 0);
		cr_assert(len >= 11);
		*got = data[5];
		if (*got == want)
			return 0;
		if (itest_now_ms() >= end)
			return -1;
		itest_pause_ms(100);
	}
}

Test(app_events, support_bits_follow_what_other_handlers_register)
{
	struct rawh	h;
	uint8_t		got;

	setup();
	cr_assert_eq(support_becomes(0x00, &got), 0, "got 0x%02x", got);
	cr_assert_eq(rawh_connect(&h, env.hsock, "sel-ish", 3000), 0);
	cr_assert_eq(rawh_reg(&h, 0x0a, 0x43), 0);
	cr_assert_eq(rawh_reg(&h, 0x00, 0x01), 0);
	cr_assert_eq(support_becomes(0x84, &got), 0,
	    "SEL and chassis: got 0x%02x", got);
	rawh_close(&h);
	cr_assert_eq(support_becomes(0x00, &got), 0,
	    "gone again: got 0x%02x", got);
	done();
}
