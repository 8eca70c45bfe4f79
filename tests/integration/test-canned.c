/* SPDX-License-Identifier: MIT */
/*
 * The canned handler through the real daemon: the shipped table answered
 * with ipmi-ctl (longest prefix, a command's fallback row, an OEM row keyed
 * by its IANA), and the default route the broker's config grants it.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "itest.h"

/* conf/canned-handler.conf: 0x0A/0x48, 0x04/0x2D, 0x2E/0x10 iana 674. */
#define CANNED_NKEYS	3

static struct itest_env	env;
static pid_t		canned_pid = -1;

/* Start the daemon (extra broker config) and the handler (its config). */
static void
setup(const char *broker_extra, const char *conf)
{
	char	path[192], *argv[4], envbuf[192], log[192];
	char	*envp[] = { envbuf, NULL };
	int	got;

	cr_assert_eq(itest_env_init(&env), 0, "temp dir");
	cr_assert_eq(itest_write_config(&env, "%s", broker_extra), 0);
	cr_assert_eq(itest_daemon_start(&env, 5000), 0,
	    "daemon did not answer on %s (log %s)", env.csock, env.log);
	if (conf == NULL)
		snprintf(path, sizeof(path), "%s/conf/canned-handler.conf",
		    itest_bin("IPMI_SRCDIR"));
	else {
		snprintf(path, sizeof(path), "%s/canned.conf", env.dir);
		cr_assert_eq(itest_write_file(path, conf), 0);
	}
	argv[0] = (char *)itest_bin("IPMI_HANDLER_CANNED");
	argv[1] = "-c";
	argv[2] = path;
	argv[3] = NULL;
	cr_assert_not_null(argv[0], "IPMI_HANDLER_CANNED unset");
	snprintf(envbuf, sizeof(envbuf), "IPMI_BROKER_SOCKET=%s", env.hsock);
	snprintf(log, sizeof(log), "%s/canned.log", env.dir);
	canned_pid = itest_spawn(log, argv, envp);
	cr_assert(canned_pid > 0);
	if (conf == NULL)
		cr_assert_eq(itest_wait_regs(&env, "canned", CANNED_NKEYS, 5000,
		    &got), 0, "canned registrations: expected %d, got %d",
		    CANNED_NKEYS, got);
}

static void
done(void)
{
	if (canned_pid > 0)
		cr_assert_eq(itest_stop_pid(canned_pid, 3000), 0,
		    "ipmi-handler-canned did not exit 0 on SIGTERM");
	canned_pid = -1;
	cr_assert_eq(itest_daemon_stop(&env, 5000), 0,
	    "the daemon did not exit 0 on SIGTERM (log %s)", env.log);
	ITEST_ASSERT_LOGS_CLEAN(&env);
}

static void
teardown(void)
{
	if (canned_pid > 0)
		itest_stop_pid(canned_pid, 3000);
	canned_pid = -1;
	itest_env_cleanup(&env);
}

TestSuite(canned, .fini = teardown, .timeout = 30);

Test(canned, the_longest_matching_prefix_answers)
{
	struct itest_run	r;
	uint8_t			data[4096];
	size_t			len;
	unsigned int		cc;

	setup("", NULL);
	cr_assert_eq(itest_ctl(&env, &r, 5000, "send", "0x04", "0x2d",
	    "0x01", NULL), 0, "%s", r.err);
	cr_assert_str_eq(r.out, " 2a c0 00 00\n");
	cr_assert_eq(itest_send_json(&env, &r, &cc, data, &len, "0x04",
	    "0x2d", "0x02", NULL), 0, "%s", r.out);
	cr_assert_eq(cc, 0xcb);
	cr_assert(strstr(r.out, "\"handler\":\"canned\"") != NULL, "%s",
	    r.out);
	cr_assert_eq(itest_send_json(&env, &r, &cc, data, &len, "0x04",
	    "0x2d", "0x09", NULL), 0, "%s", r.out);
	cr_assert_eq(cc, 0xcb, "the fallback row");
	cr_assert_eq(itest_ctl(&env, &r, 5000, "send", "0x0a", "0x48", NULL),
	    0, "%s", r.err);
	cr_assert_str_eq(r.out, " 80 00 92 65\n");
	done();
}

Test(canned, an_oem_row_is_registered_by_its_iana_and_repeats_it)
{
	struct itest_run	r;
	uint8_t			data[4096];
	size_t			len;
	unsigned int		cc;
	char			line[512];

	setup("", NULL);
	cr_assert_eq(itest_ctl(&env, &r, 5000, "send", "0x2e", "0x10", "0xa2",
	    "0x02", "0x00", "0x55", NULL), 0, "%s", r.err);
	cr_assert_str_eq(r.out, " a2 02 00 01 02\n");
	cr_assert_eq(itest_ctl(&env, &r, 5000, "list", NULL), 0);
	cr_assert_eq(itest_line_with(r.out, "iana 674", "canned", line,
	    sizeof(line)), 0, "no iana 674 row in:\n%s", r.out);
	/* Another IANA is nobody's: the broker answers, IANA echoed. */
	cr_assert_eq(itest_send_json(&env, &r, &cc, data, &len, "0x2e",
	    "0x10", "0xa3", "0x02", "0x00", NULL), 0, "%s", r.out);
	cr_assert_eq(cc, 0xc1);
	cr_assert(strstr(r.out, "\"handler\":\"broker\"") != NULL, "%s",
	    r.out);
	done();
}

Test(canned, with_the_default_route_it_answers_what_nobody_registered)
{
	static const char conf[] =
	    "[canned]\n"
	    "default_route = yes\n"
	    "default_cc = 0xd5\n"
	    "[entry one]\n"
	    "netfn = 0x30\n"
	    "cmd = 0x01\n"
	    "response = 11\n";
	struct itest_run	r;
	uint8_t			data[4096];
	size_t			len;
	unsigned int		cc;
	char			extra[128];
	int			got;

	snprintf(extra, sizeof(extra), "[default_route]\nhandler = canned\n"
	    "user = %u\n", (unsigned)getuid());
	setup(extra, conf);
	cr_assert_eq(itest_wait_regs(&env, "canned", 2, 5000, &got), 0,
	    "one key and the default route: got %d", got);
	cr_assert_eq(itest_ctl(&env, &r, 5000, "send", "0x30", "0x01", NULL),
	    0, "%s", r.err);
	cr_assert_str_eq(r.out, " 11\n");
	cr_assert_eq(itest_send_json(&env, &r, &cc, data, &len, "0x30",
	    "0x02", NULL), 0, "%s", r.out);
	cr_assert_eq(cc, 0xd5, "cc 0x%02x", cc);
	cr_assert(strstr(r.out, "\"handler\":\"canned\"") != NULL, "%s",
	    r.out);
	cr_assert_eq(itest_send_json(&env, &r, &cc, data, &len, "0x2e",
	    "0x01", "0x01", "0x02", "0x03", NULL), 0, "%s", r.out);
	cr_assert_eq(cc, 0xd5);
	cr_assert_eq(len, 3, "the IANA is repeated");
	cr_assert_eq(data[0], 0x01);
	done();
}

Test(canned, without_the_broker_granting_it_the_default_route_it_stops)
{
	static const char conf[] = "[canned]\ndefault_route = yes\n";
	char	log[192];

	setup("", conf);
	cr_assert_eq(itest_wait_pid(canned_pid, 5000), 1,
	    "the handler must exit 1 when denied the default route");
	canned_pid = -1;
	snprintf(log, sizeof(log), "%s/canned.log", env.dir);
	cr_assert_eq(itest_wait_file(log, "default route:", 1000), 0);
	done();
}
