/* SPDX-License-Identifier: MIT */
/*
 * Routing as a user sees it: the real daemon with the shipped App and OEM
 * example handlers, driven by ipmi-ctl. Each test starts its own daemon in
 * its own directory and stops it at the end, checking it exits 0.
 */
#include <criterion/criterion.h>

#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "itest.h"

#define APP_NCMDS	ITEST_APP_NCMDS

static struct itest_env	env;
static pid_t		app_pid = -1, oem_pid = -1;

static void
setup(void)
{
	int	got;

	cr_assert_eq(itest_env_init(&env), 0, "temp dir");
	cr_assert_eq(itest_write_config(&env, NULL), 0);
	cr_assert_eq(itest_daemon_start(&env, 5000), 0,
	    "daemon did not answer on %s (log %s)", env.csock, env.log);
	app_pid = itest_handler_start(&env, "IPMI_HANDLER_APP",
	    "app-handler.conf", "app");
	oem_pid = itest_handler_start(&env, "IPMI_HANDLER_OEM",
	    "oem-example.conf", "oem");
	cr_assert(app_pid > 0 && oem_pid > 0, "handlers did not start");
	cr_assert_eq(itest_wait_regs(&env, "app", APP_NCMDS, 5000, &got), 0,
	    "app handler registrations: expected %d, got %d", APP_NCMDS,
	    got);
	cr_assert_eq(itest_wait_regs(&env, "oem-example", 1, 5000, &got), 0,
	    "oem-example registrations: expected 1, got %d", got);
}

/* The end of every test: handlers and daemon stop cleanly on SIGTERM. */
static void
done(void)
{
	if (app_pid > 0)
		cr_assert_eq(itest_stop_pid(app_pid, 3000), 0,
		    "ipmi-handler-app did not exit 0 on SIGTERM");
	if (oem_pid > 0)
		cr_assert_eq(itest_stop_pid(oem_pid, 3000), 0,
		    "ipmi-handler-oem-example did not exit 0 on SIGTERM");
	app_pid = oem_pid = -1;
	cr_assert_eq(itest_daemon_stop(&env, 5000), 0,
	    "the daemon did not exit 0 on SIGTERM (log %s)", env.log);
	ITEST_ASSERT_LOGS_CLEAN(&env);
}

/* After a failure too: kill whatever is left, remove the directory. */
static void
teardown(void)
{
	if (app_pid > 0)
		itest_stop_pid(app_pid, 3000);
	if (oem_pid > 0)
		itest_stop_pid(oem_pid, 3000);
	app_pid = oem_pid = -1;
	itest_env_cleanup(&env);
}

TestSuite(routing, .fini = teardown, .timeout = 30);

Test(routing, app_handler_answers_get_device_id_with_its_configured_bytes)
{
	struct itest_run	r;

	setup();

	cr_assert_eq(itest_ctl(&env, &r, 5000, "send", "0x06", "0x01", NULL),
	    0, "ipmi-ctl send 0x06 0x01 exit %d: %s", r.status, r.err);
	cr_assert_str_eq(r.out, " 20 01 01 02 02 00 d9 7e 00 01 00\n");
	done();
}

Test(routing, list_shows_the_app_and_oem_example_registrations_as_text)
{
	struct itest_run	r;
	char			line[512];

	setup();

	cr_assert_eq(itest_ctl(&env, &r, 5000, "list", NULL), 0, "%s",
	    r.err);
	cr_assert_eq(itest_line_with(r.out, "0x06   0x01", "app", line,
	    sizeof(line)), 0, "no app 0x06/0x01 row in:\n%s", r.out);
	cr_assert_eq(itest_line_with(r.out, "iana 32473", "oem-example", line,
	    sizeof(line)), 0, "no oem-example row in:\n%s", r.out);
	cr_assert(strstr(line, "0x2e") != NULL && strstr(line, "any") != NULL,
	    "oem row: %s", line);
	cr_assert_eq(itest_count(r.out, " app "), APP_NCMDS, "%s", r.out);
	done();
}

Test(routing, list_json_shows_the_app_and_oem_example_registrations)
{
	struct itest_run	r;
	char			line[1024], pid[32];

	setup();

	cr_assert_eq(itest_ctl(&env, &r, 5000, "--json", "list", NULL), 0);
	cr_assert_eq(itest_count(r.out, "\"handler\":\"app\""), APP_NCMDS,
	    "%s", r.out);
	cr_assert_eq(itest_line_with(r.out, "\"netfn\":6,\"cmd\":1,",
	    "\"handler\":\"app\"", line, sizeof(line)), 0, "%s", r.out);
	snprintf(pid, sizeof(pid), "\"pid\":%d,", (int)app_pid);
	cr_assert(strstr(line, pid) != NULL, "want %s in %s", pid, line);
	cr_assert(strstr(line, "\"luns\":[0],") != NULL, "%s", line);
	cr_assert_eq(itest_line_with(r.out, "\"iana\":32473",
	    "\"handler\":\"oem-example\"", line, sizeof(line)), 0, "%s",
	    r.out);
	cr_assert(strstr(line, "\"netfn\":46,\"cmd\":null") != NULL, "%s",
	    line);
	snprintf(pid, sizeof(pid), "\"pid\":%d,", (int)oem_pid);
	cr_assert(strstr(line, pid) != NULL, "want %s in %s", pid, line);
	done();
}

/* No data: protobuf-c hands the broker a NULL payload (UBSan watches). */
Test(routing, an_unregistered_command_exits_1_with_cc_c1)
{
	struct itest_run	r;
	uint8_t			data[64];
	size_t			len;
	unsigned int		cc;

	setup();

	cr_assert_eq(itest_ctl(&env, &r, 5000, "send", "0x06", "0x02", NULL),
	    1, "exit %d", r.status);
	cr_assert(strstr(r.err, "0xc1") != NULL, "stderr: %s", r.err);
	cr_assert_eq(itest_send_json(&env, &r, &cc, data, &len, "0x06",
	    "0x02", NULL), 0, "json: %s", r.out);
	cr_assert_eq(r.status, 1);
	cr_assert_eq(cc, 0xc1, "cc 0x%02x", cc);
	cr_assert_eq(len, 0);
	cr_assert(strstr(r.out, "\"handler\":\"broker\"") != NULL, "%s",
	    r.out);
	done();
}

Test(routing, oem_request_is_routed_by_iana_to_oem_example_which_echoes_it)
{
	static const uint8_t	want[] = { 0xd9, 0x7e, 0x00, 0xaa, 0xbb };
	struct itest_run	r;
	uint8_t			data[64];
	size_t			len;
	unsigned int		cc;

	setup();

	cr_assert_eq(itest_send_json(&env, &r, &cc, data, &len, "0x2e",
	    "0x01", "0xd9", "0x7e", "0x00", "0xaa", "0xbb", NULL), 0, "%s",
	    r.out);
	cr_assert_eq(r.status, 0, "exit %d: %s", r.status, r.err);
	cr_assert_eq(cc, 0);
	cr_assert_eq(len, sizeof(want));
	cr_assert_arr_eq(data, want, sizeof(want));
	cr_assert(strstr(r.out, "\"handler\":\"oem-example\"") != NULL, "%s",
	    r.out);
	done();
}

Test(routing, oem_request_with_two_data_bytes_gets_c7)
{
	struct itest_run	r;
	uint8_t			data[64];
	size_t			len;
	unsigned int		cc;

	setup();

	cr_assert_eq(itest_send_json(&env, &r, &cc, data, &len, "0x2e",
	    "0x01", "0xd9", "0x7e", NULL), 0, "%s", r.out);
	cr_assert_eq(r.status, 1);
	cr_assert_eq(cc, 0xc7, "cc 0x%02x", cc);
	cr_assert_eq(len, 0, "no IANA to echo, got %zu bytes", len);
	done();
}

Test(routing, group_extension_request_without_data_gets_c7)
{
	struct itest_run	r;
	uint8_t			data[64];
	size_t			len;
	unsigned int		cc;

	setup();

	cr_assert_eq(itest_send_json(&env, &r, &cc, data, &len, "0x2c",
	    "0x01", NULL), 0, "%s", r.out);
	cr_assert_eq(r.status, 1);
	cr_assert_eq(cc, 0xc7, "cc 0x%02x", cc);
	cr_assert_eq(len, 0);
	done();
}

Test(routing, unserved_group_extension_gets_c1_followed_by_its_body_code)
{
	struct itest_run	r;
	uint8_t			data[64];
	size_t			len;
	unsigned int		cc;

	setup();

	cr_assert_eq(itest_send_json(&env, &r, &cc, data, &len, "0x2c",
	    "0x01", "0x00", NULL), 0, "%s", r.out);
	cr_assert_eq(r.status, 1);
	cr_assert_eq(cc, 0xc1, "cc 0x%02x", cc);
	cr_assert_eq(len, 1, "data: %s", r.out);
	cr_assert_eq(data[0], 0x00);
	done();
}

Test(routing, unserved_oem_iana_gets_c1_followed_by_the_three_iana_bytes)
{
	static const uint8_t	want[] = { 0x11, 0x22, 0x33 };
	struct itest_run	r;
	uint8_t			data[64];
	size_t			len;
	unsigned int		cc;

	setup();

	cr_assert_eq(itest_send_json(&env, &r, &cc, data, &len, "0x2e",
	    "0x01", "0x11", "0x22", "0x33", "0x44", NULL), 0, "%s", r.out);
	cr_assert_eq(r.status, 1);
	cr_assert_eq(cc, 0xc1, "cc 0x%02x", cc);
	cr_assert_eq(len, 3, "data: %s", r.out);
	cr_assert_arr_eq(data, want, 3);
	done();
}

/* Get Command Support, App netfn, LUN 0, commands 0x00-0x7f. */
static void
routing_command_support(uint8_t bits[16])
{
	struct itest_run	r;
	size_t			len;
	unsigned int		cc;

	cr_assert_eq(itest_send_json(&env, &r, &cc, bits, &len, "0x06",
	    "0x0a", "0x0f", "0x06", "0x00", NULL), 0, "%s", r.out);
	cr_assert_eq(cc, 0, "cc 0x%02x", cc);
	cr_assert_eq(len, 16, "%s", r.out);
}

static void
routing_expect_bits(const uint8_t got[16], const uint8_t *cmds, size_t n)
{
	uint8_t	want[16];
	size_t	i;

	/* Set = not supported; the broker's own commands are supported. */
	memset(want, 0xff, sizeof(want));
	for (i = 0; i < n; i++)
		want[cmds[i] / 8] &= (uint8_t)~(1 << (cmds[i] % 8));
	for (i = 0; i < 16; i++)
		cr_assert_eq(got[i], want[i], "byte %zu (cmds 0x%02zx-0x%02zx):"
		    " expected 0x%02x, got 0x%02x", i, i * 8, i * 8 + 7,
		    want[i], got[i]);
}

Test(routing, command_support_clears_the_bits_of_live_app_commands_only)
{
	static const uint8_t	live[] = { 0x01, 0x04, 0x08, 0x2e, 0x2f,
	    0x30, 0x31, 0x33, 0x35, 0x36, 0x37, 0x42,
	    0x09, 0x0a, 0x0c, 0x61 };
	static const uint8_t	builtin[] = { 0x09, 0x0a, 0x0c, 0x61 };
	uint8_t			bits[16];

	setup();

	routing_command_support(bits);
	routing_expect_bits(bits, live, sizeof(live));

	/* Kill the handler: its commands become unsupported. */
	cr_assert_eq(kill(app_pid, SIGKILL), 0);
	cr_assert_eq(itest_wait_pid(app_pid, 3000), 128 + SIGKILL);
	app_pid = -1;
	cr_assert_eq(itest_wait_regs(&env, "app", 0, 3000, NULL), 0,
	    "registrations of the killed handler are still listed");
	routing_command_support(bits);
	routing_expect_bits(bits, builtin, sizeof(builtin));
	done();
}

/* Get NetFn Support on the ctl channel: 17 bytes, LUN 0 bits in 1..4. */
static void
routing_netfn_support(uint8_t rsp[17])
{
	struct itest_run	r;
	size_t			len;
	unsigned int		cc;

	cr_assert_eq(itest_send_json(&env, &r, &cc, rsp, &len, "0x06",
	    "0x09", "0x0f", NULL), 0, "%s", r.out);
	cr_assert_eq(cc, 0, "cc 0x%02x", cc);
	cr_assert_eq(len, 17, "%s", r.out);
}

#define NETFN_BIT(rsp, netfn) \
	(((rsp)[1 + (netfn) / 16] >> (((netfn) / 2) % 8)) & 1)

Test(routing, netfn_support_shows_pair_0x30_once_a_handler_registers_it)
{
	struct rawh	h;
	uint8_t		rsp[17];

	setup();

	routing_netfn_support(rsp);
	cr_assert_eq(NETFN_BIT(rsp, 0x06), 1, "App is always supported");
	cr_assert_eq(NETFN_BIT(rsp, 0x2e), 1, "oem-example serves 0x2e");
	cr_assert_eq(NETFN_BIT(rsp, 0x30), 0, "nobody serves 0x30 yet");
	cr_assert_eq(NETFN_BIT(rsp, 0x0a), 0, "nobody serves storage");

	cr_assert_eq(rawh_connect(&h, env.hsock, "raw30", 3000), 0);
	cr_assert_eq(rawh_reg(&h, 0x30, 0x10), HND__STATUS__OK);
	routing_netfn_support(rsp);
	cr_assert_eq(NETFN_BIT(rsp, 0x30), 1, "0x30 registered but bit clear"
	    " (LUN 0 bytes %02x %02x %02x %02x)", rsp[1], rsp[2], rsp[3],
	    rsp[4]);
	cr_assert_eq(NETFN_BIT(rsp, 0x32), 0);
	rawh_close(&h);
	done();
}
