/* SPDX-License-Identifier: MIT */
/*
 * Reloading the config with SIGHUP, and the default route. A good config
 * bumps the generation ipmi-ctl status shows and takes effect at once; a
 * broken one is refused with FILE:LINE in the log and changes nothing.
 * The default route goes to the handler the config names, and only to it.
 */
#include <criterion/criterion.h>

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "itest.h"

static struct itest_env	env;

static void
start(const char *extra)
{
	cr_assert_eq(itest_env_init(&env), 0, "temp dir");
	cr_assert_eq(itest_write_config(&env, "%s", extra), 0);
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

TestSuite(reload, .fini = teardown, .timeout = 30);

static uint64_t
generation(void)
{
	uint64_t	g = 0;

	cr_assert_eq(itest_status(&env, "config_generation", &g), 0,
	    "ipmi-ctl --json status failed");
	return g;
}

/* Wait for the generation to become want; returns the last one seen. */
static uint64_t
generation_becomes(uint64_t want)
{
	int64_t		end = itest_now_ms() + 3000;
	uint64_t	g;

	while ((g = generation()) != want && itest_now_ms() < end)
		itest_pause_ms(10);
	return g;
}

/* The cc of an unregistered request, 0x30/0x44. */
static unsigned int
unregistered_cc(void)
{
	struct itest_run	r;
	uint8_t			data[64];
	size_t			len;
	unsigned int		cc;

	cr_assert_eq(itest_send_json(&env, &r, &cc, data, &len, "0x30",
	    "0x44", NULL), 0, "%s", r.out);
	cr_assert_eq(r.status, 1, "a non-zero cc exits 1");
	return cc;
}

static void
reload_d6(void)
{
	uint64_t	g;

	cr_assert_eq(generation(), 1);
	cr_assert_eq(unregistered_cc(), 0xc1);
	cr_assert_eq(itest_write_config(&env, "[default_route]\n"
	    "code = 0xd6\n"), 0);
	cr_assert_eq(kill(env.pid, SIGHUP), 0);
	cr_assert_eq(g = generation_becomes(2), 2, "generation %llu",
	    (unsigned long long)g);
	cr_assert_eq(unregistered_cc(), 0xd6);
}

Test(reload, sighup_applies_an_edited_config_and_bumps_the_generation)
{
	struct itest_run	r;

	start("");
	reload_d6();
	cr_assert_eq(itest_ctl(&env, &r, 5000, "status", NULL), 0);
	cr_assert(strstr(r.out, "config generation:  2") != NULL, "%s",
	    r.out);
	cr_assert(strstr(r.out, "completion code 0xd6") != NULL, "%s", r.out);
	done();
}

Test(reload, a_broken_config_on_sighup_keeps_the_running_one_and_names_file_and_line)
{
	char	want[256];

	start("");
	reload_d6();
	/* Line 6: [broker], runtime_dir, log_level, [default_route], code. */
	cr_assert_eq(itest_write_config(&env, "[default_route]\n"
	    "code = 0xd7\nno_such_key = 1\n"), 0);
	cr_assert_eq(kill(env.pid, SIGHUP), 0);
	snprintf(want, sizeof(want), "%s:6: unknown key", env.conf);
	cr_assert_eq(itest_wait_file(env.log, want, 3000), 0,
	    "no '%s' in %s", want, env.log);
	cr_assert_eq(itest_wait_file(env.log, "keeping config generation 2",
	    0), 0, "the log does not say the old config stays");
	cr_assert_eq(generation(), 2);
	cr_assert_eq(unregistered_cc(), 0xd6, "the old default code stays");
	done();
}

static void
default_start(void)
{
	char	extra[128];

	/* Root in CI; anyone else names their own uid. */
	snprintf(extra, sizeof(extra), "[default_route]\nhandler = dflt\n"
	    "user = %u\n", (unsigned)getuid());
	start(extra);
}

Test(reload, the_named_default_handler_takes_the_default_route_and_gets_unmatched_requests)
{
	struct rawh		h;
	struct rawh_result	res;
	struct rawh_req		rq;
	struct itest_run	r;
	char			pat[64];

	default_start();
	cr_assert_eq(rawh_connect(&h, env.hsock, "dflt", 3000), 0);
	cr_assert_eq(rawh_register(&h, 5, NULL, 0, true, &res),
	    HND__STATUS__OK, "status %d: %s", res.status, res.message);
	cr_assert_eq(res.tag, 5);

	cr_assert_eq(itest_ctl_start(&env, &r, "send", "0x30", "0x44", "0x01",
	    NULL), 0);
	cr_assert_eq(rawh_wait_request(&h, &rq, 3000), RAWH_MSG,
	    "the default handler did not get the unmatched request");
	cr_assert(rq.netfn == 0x30 && rq.cmd == 0x44 && rq.len == 1 &&
	    rq.data[0] == 0x01);
	cr_assert_eq(rawh_respond(&h, rq.id, 0, "\x99", 1), 0);
	cr_assert_eq(itest_run_finish(&r, 5000), 0, "%s", r.err);
	cr_assert_str_eq(r.out, " 99\n");

	cr_assert_eq(itest_ctl(&env, &r, 5000, "--json", "list", NULL), 0);
	cr_assert(strstr(r.out, "\"handler\":\"dflt\"") != NULL &&
	    strstr(r.out, "\"default\":true") != NULL, "%s", r.out);
	cr_assert_eq(itest_ctl(&env, &r, 5000, "status", NULL), 0);
	snprintf(pat, sizeof(pat), "handler dflt[%d]", (int)getpid());
	cr_assert(strstr(r.out, pat) != NULL, "%s", r.out);
	rawh_close(&h);
	done();
}

Test(reload, a_handler_with_another_name_is_denied_the_default_route)
{
	struct rawh		h;
	struct rawh_result	res;

	default_start();
	cr_assert_eq(rawh_connect(&h, env.hsock, "other", 3000), 0);
	cr_assert_eq(rawh_register(&h, 6, NULL, 0, true, &res),
	    HND__STATUS__DENIED, "status %d: %s", res.status, res.message);
	cr_assert(strstr(res.message, "'dflt'") != NULL, "%s", res.message);
	/* Unmatched requests still get the no-handler code. */
	cr_assert_eq(unregistered_cc(), 0xc1);
	rawh_close(&h);
	done();
}
