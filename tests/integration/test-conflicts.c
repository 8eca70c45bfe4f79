/* SPDX-License-Identifier: MIT */
/*
 * Registration conflicts, specificity and access rules on the real daemon.
 * Raw handlers speak the handler protocol directly so each test sees the
 * broker's Result as it is sent; a holder runs in a child process so its
 * pid differs from the test's and the conflict report can be checked.
 */
#include <criterion/criterion.h>

#include <sys/wait.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "itest.h"

#define NOBODY	65534

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
setup(void)
{
	start("");
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

TestSuite(conflicts, .fini = teardown, .timeout = 30);

/* Start a holder child with one key; returns its pid. */
static pid_t
holder(struct rawh_child *c, const char *name, const Hnd__Key *k)
{
	char	line[64];

	cr_assert_eq(rawh_child_start(c, env.hsock, name, k, 1, true, 0, NULL,
	    0), 0);
	cr_assert_eq(rawh_child_line(c, line, sizeof(line), 5000), 0,
	    "holder %s said nothing", name);
	cr_assert(strncmp(line, "ok ", 3) == 0, "holder %s: %s", name, line);
	return c->pid;
}

Test(conflicts, a_second_registration_of_the_same_key_is_refused_naming_the_holder)
{
	struct rawh_child	a;
	struct rawh		b;
	struct rawh_result	res;
	Hnd__Key		k = rawh_key(0x30, false, 0x01);
	const char		*key = "netfn 0x30 cmd 0x01 luns 0x0f channels "
				    "0xffff";
	char			*second;

	setup();

	holder(&a, "holder-a", &k);
	cr_assert_eq(rawh_connect(&b, env.hsock, "second-b", 3000), 0);
	cr_assert_eq(rawh_register(&b, 7, &k, 0, false, &res),
	    HND__STATUS__CONFLICT, "status %d: %s", res.status, res.message);
	cr_assert_eq(res.tag, 7);
	cr_assert_str_eq(res.holder_name, "holder-a");
	cr_assert_eq(res.holder_pid, (uint32_t)a.pid, "holder pid: expected "
	    "%d, got %u", (int)a.pid, res.holder_pid);
	cr_assert(res.has_overlap && res.overlap.netfn == 0x30 &&
	    res.overlap.cmd == 0x01, "overlap key missing or wrong");
	/* The message names the refused key and the holder's key. */
	cr_assert((second = strstr(res.message, key)) != NULL, "%s",
	    res.message);
	cr_assert(strstr(second + 1, key) != NULL, "%s", res.message);
	cr_assert(strstr(res.message, "holder-a") != NULL, "%s",
	    res.message);
	rawh_close(&b);
	rawh_child_stop(&a);
	done();
}

Test(conflicts, incomparable_lun_sets_conflict_and_the_message_names_both)
{
	struct rawh_child	a;
	struct rawh		b;
	struct rawh_result	res;
	Hnd__Key		ka = rawh_key(0x30, false, 0x01);
	Hnd__Key		kb = rawh_key(0x30, false, 0x01);

	setup();

	ka.lun_mask = 0x03;
	kb.lun_mask = 0x06;
	holder(&a, "luns-03", &ka);
	cr_assert_eq(rawh_connect(&b, env.hsock, "luns-06", 3000), 0);
	cr_assert_eq(rawh_register(&b, 1, &kb, 0, false, &res),
	    HND__STATUS__CONFLICT, "status %d: %s", res.status, res.message);
	cr_assert_eq(res.holder_pid, (uint32_t)a.pid);
	cr_assert(strstr(res.message, "luns 0x06") != NULL, "%s",
	    res.message);
	cr_assert(strstr(res.message, "luns 0x03") != NULL, "%s",
	    res.message);
	cr_assert(res.has_overlap && res.overlap.lun_mask == 0x03);

	/* A proper subset is more specific: no conflict. */
	kb.lun_mask = 0x01;
	cr_assert_eq(rawh_register(&b, 2, &kb, 0, false, &res),
	    HND__STATUS__OK, "%s", res.message);
	rawh_close(&b);
	rawh_child_stop(&a);
	done();
}

Test(conflicts, exact_cmd_and_any_cmd_coexist_and_the_exact_one_wins_routing)
{
	struct rawh		any, exact;
	struct rawh_req		rq;
	struct itest_run	r;
	Hnd__Key		ka = rawh_key(0x30, true, 0);
	Hnd__Key		ke = rawh_key(0x30, false, 0x05);
	struct rawh_result	res;
	static const uint8_t	from_any = 0xaa, from_exact = 0xee;

	setup();

	cr_assert_eq(rawh_connect(&any, env.hsock, "any-cmd", 3000), 0);
	cr_assert_eq(rawh_connect(&exact, env.hsock, "exact-cmd", 3000), 0);
	cr_assert_eq(rawh_register(&any, 1, &ka, 0, false, &res),
	    HND__STATUS__OK, "%s", res.message);
	cr_assert_eq(rawh_register(&exact, 1, &ke, 0, false, &res),
	    HND__STATUS__OK, "%s", res.message);

	cr_assert_eq(itest_ctl_start(&env, &r, "send", "0x30", "0x05", NULL),
	    0);
	cr_assert_eq(rawh_wait_request(&exact, &rq, 3000), RAWH_MSG,
	    "the exact registration did not get 0x30/0x05");
	cr_assert_eq(rawh_wait_request(&any, &rq, 0), RAWH_TIMEOUT);
	cr_assert_eq(rawh_respond(&exact, rq.id, 0, &from_exact, 1), 0);
	cr_assert_eq(itest_run_finish(&r, 5000), 0, "%s", r.err);
	cr_assert_str_eq(r.out, " ee\n");

	cr_assert_eq(itest_ctl_start(&env, &r, "send", "0x30", "0x06", NULL),
	    0);
	cr_assert_eq(rawh_wait_request(&any, &rq, 3000), RAWH_MSG,
	    "the any-cmd registration did not get 0x30/0x06");
	cr_assert_eq(rq.cmd, 0x06);
	cr_assert_eq(rawh_respond(&any, rq.id, 0, &from_any, 1), 0);
	cr_assert_eq(itest_run_finish(&r, 5000), 0, "%s", r.err);
	cr_assert_str_eq(r.out, " aa\n");
	rawh_close(&any);
	rawh_close(&exact);
	done();
}

Test(conflicts, a_handler_disconnecting_loses_its_registrations)
{
	struct rawh		h;
	struct itest_run	r;
	int			got;

	setup();

	cr_assert_eq(rawh_connect(&h, env.hsock, "short-lived", 3000), 0);
	cr_assert_eq(rawh_reg(&h, 0x30, 0x09), HND__STATUS__OK);
	cr_assert_eq(rawh_reg(&h, 0x32, 0x01), HND__STATUS__OK);
	cr_assert_eq(itest_wait_regs(&env, "short-lived", 2, 3000, &got), 0,
	    "listed %d registrations, expected 2", got);
	rawh_close(&h);
	cr_assert_eq(itest_wait_regs(&env, "short-lived", 0, 3000, &got), 0,
	    "still %d registrations listed after disconnect", got);
	cr_assert_eq(itest_ctl(&env, &r, 5000, "send", "0x30", "0x09", NULL),
	    1);
	cr_assert(strstr(r.err, "0xc1") != NULL, "%s", r.err);
	done();
}

Test(conflicts, odd_netfn_register_is_refused_invalid_with_a_reason)
{
	struct rawh		h;
	struct rawh_result	res;
	Hnd__Key		k = rawh_key(0x31, false, 0x01);

	setup();

	cr_assert_eq(rawh_connect(&h, env.hsock, "odd", 3000), 0);
	cr_assert_eq(rawh_register(&h, 3, &k, 0, false, &res),
	    HND__STATUS__INVALID, "expected Result INVALID, got status %d "
	    "(%s)", res.status, res.message);
	cr_assert_eq(res.tag, 3);
	cr_assert(strstr(res.message, "odd") != NULL, "%s", res.message);
	/* Still connected: a valid key registers. */
	cr_assert_eq(rawh_reg(&h, 0x30, 0x01), HND__STATUS__OK);
	rawh_close(&h);
	done();
}

Test(conflicts, an_iana_on_a_plain_netfn_is_refused_invalid_with_a_reason)
{
	struct rawh		h;
	struct rawh_result	res;
	Hnd__Key		k = rawh_key(0x30, false, 0x01);

	setup();

	k.iana = 7154;
	cr_assert_eq(rawh_connect(&h, env.hsock, "stray-iana", 3000), 0);
	cr_assert_eq(rawh_register(&h, 4, &k, 0, false, &res),
	    HND__STATUS__INVALID, "status %d: %s", res.status, res.message);
	cr_assert(strstr(res.message, "IANA") != NULL ||
	    strstr(res.message, "iana") != NULL, "%s", res.message);
	/* The handler stays connected and may register a valid key. */
	cr_assert_eq(rawh_reg(&h, 0x30, 0x01), HND__STATUS__OK);
	rawh_close(&h);
	done();
}

/* ---- access rules: [acl x] lets uid 65534 register netfn 0x30 only ---- */

static void
acl_setup(void)
{
	start("[acl x]\nuser = 65534\nnetfn = 0x30\n");
}

TestSuite(acl, .fini = teardown, .timeout = 30);

Test(acl, a_handler_running_as_root_may_register_what_no_rule_grants)
{
	struct rawh	h;

	acl_setup();

	cr_assert_eq(geteuid(), 0, "CI runs the integration tests as root");
	cr_assert_eq(rawh_connect(&h, env.hsock, "root-handler", 3000), 0);
	cr_assert_eq(rawh_reg(&h, 0x30, 0x01), HND__STATUS__OK);
	cr_assert_eq(rawh_reg(&h, 0x32, 0x01), HND__STATUS__OK);
	cr_assert_eq(rawh_reg(&h, 0x0a, 0x10), HND__STATUS__OK);
	rawh_close(&h);
	done();
}

/* In a child running as uid 65534: register k, write status + message. */
static void
acl_child(int fd, const Hnd__Key *keys, size_t n)
{
	struct rawh_result	res;
	struct rawh		h;
	char			out[1024];
	size_t			i, len = 0;

	if (setgid(NOBODY) < 0 || setuid(NOBODY) < 0)
		_exit(10);
	if (rawh_connect(&h, env.hsock, "nobody-handler", 3000) < 0)
		_exit(11);
	for (i = 0; i < n; i++) {
		rawh_register(&h, (uint32_t)i + 1, &keys[i], 0, false, &res);
		len += (size_t)snprintf(out + len, sizeof(out) - len,
		    "%d %.200s\n", res.status, res.message);
	}
	if (write(fd, out, len) != (ssize_t)len)
		_exit(12);
	_exit(0);
}

Test(acl, a_handler_running_as_65534_gets_its_granted_netfn_and_is_denied_others)
{
	Hnd__Key	keys[2] = { rawh_key(0x30, false, 0x02),
			    rawh_key(0x32, false, 0x01) };
	char		buf[1024], *second;
	ssize_t		n;
	pid_t		pid;
	int		p[2];

	if (geteuid() != 0)
		cr_skip_test("switching to uid 65534 needs root (CI runs as "
		    "root)");
	acl_setup();
	cr_assert_eq(pipe(p), 0);
	if ((pid = fork()) == 0) {
		close(p[0]);
		acl_child(p[1], keys, 2);
	}
	cr_assert(pid > 0);
	close(p[1]);
	cr_assert_eq(itest_wait_pid(pid, 5000), 0, "child failed");
	n = read(p[0], buf, sizeof(buf) - 1);
	close(p[0]);
	cr_assert(n > 0);
	buf[n] = '\0';
	cr_assert(strncmp(buf, "0 ", 2) == 0, "0x30/0x02 as uid 65534: %s",
	    buf);
	cr_assert((second = strchr(buf, '\n')) != NULL);
	second++;
	cr_assert(strncmp(second, "2 ", 2) == 0, "0x32/0x01 as uid 65534 "
	    "should be DENIED (2): %s", second);
	cr_assert(strstr(second, "uid 65534") != NULL, "%s", second);
	cr_assert(itest_wait_file(env.log, "uid 65534 gid 65534 may not "
	    "register netfn 0x32", 3000) == 0, "no denial in %s", env.log);
	done();
}
