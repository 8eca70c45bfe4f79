/* SPDX-License-Identifier: MIT */
/*
 * The broker dies, the supervisor starts a new one on the same sockets,
 * and handlers come back by themselves: the shipped App handler (same
 * process, registrations restored) and a libipmiclient test handler that
 * reports its fd, which must not change across the reconnect.
 */
#include <criterion/criterion.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "itest.h"

static struct itest_env	env;
static pid_t		hpid = -1;

static void
setup(void)
{
	cr_assert_eq(itest_env_init(&env), 0, "temp dir");
	cr_assert_eq(itest_write_config(&env, NULL), 0);
	cr_assert_eq(itest_daemon_start(&env, 5000), 0,
	    "daemon did not answer on %s (log %s)", env.csock, env.log);
}

static void
teardown(void)
{
	if (hpid > 0)
		itest_stop_pid(hpid, 3000);
	hpid = -1;
	itest_env_cleanup(&env);
}

TestSuite(restart, .fini = teardown, .timeout = 30);

static pid_t
broker_pid(void)
{
	uint64_t	pid = 0;

	cr_assert_eq(itest_status(&env, "broker_pid", &pid), 0,
	    "ipmi-ctl --json status failed");
	cr_assert(pid > 1);
	return (pid_t)pid;
}

/* SIGKILL the broker; return the new one's pid once status shows it. */
static pid_t
kill_broker(pid_t old, long *took_ms)
{
	int64_t		t0, end;
	uint64_t	pid = 0;

	cr_assert_eq(kill(old, SIGKILL), 0);
	t0 = itest_now_ms();
	end = t0 + 1000;
	for (;;) {
		if (itest_status(&env, "broker_pid", &pid) == 0 &&
		    (pid_t)pid != old)
			break;
		cr_assert(itest_now_ms() < end, "no new broker within 1 s "
		    "(log %s)", env.log);
		itest_pause_ms(5);
	}
	*took_ms = (long)(itest_now_ms() - t0);
	return (pid_t)pid;
}

Test(restart, a_killed_broker_is_replaced_and_the_app_handler_comes_back_by_itself)
{
	struct itest_run	r;
	pid_t			old, new;
	int64_t			t0, end;
	long			took;
	char			pat[64];
	int			got;

	setup();

	hpid = itest_handler_start(&env, "IPMI_HANDLER_APP",
	    "app-handler.conf", "app");
	cr_assert(hpid > 0);
	cr_assert_eq(itest_wait_regs(&env, "app", ITEST_APP_NCMDS, 5000, &got), 0,
	    "app registrations: %d", got);
	cr_assert_eq(itest_ctl(&env, &r, 5000, "send", "0x06", "0x01", NULL),
	    0, "%s", r.err);

	old = broker_pid();
	new = kill_broker(old, &took);
	cr_log_info("new broker %d (was %d) after %ld ms", (int)new, (int)old,
	    took);
	cr_assert_neq(new, old);
	cr_assert_eq(itest_wait_file(env.log, "killed by signal 9", 1000), 0,
	    "the supervisor did not log the broker's death");

	/* The handler re-registers by itself. */
	t0 = itest_now_ms();
	end = t0 + 5000;
	for (;;) {
		if (itest_ctl(&env, &r, 5000, "send", "0x06", "0x01", NULL) ==
		    0)
			break;
		cr_assert(itest_now_ms() < end, "Get Device ID still fails "
		    "5 s after the restart: %s", r.err);
		itest_pause_ms(10);
	}
	cr_log_info("Get Device ID answered again %lld ms after the new "
	    "broker showed up", (long long)(itest_now_ms() - t0));
	cr_assert_str_eq(r.out, " 20 01 01 02 02 00 d9 7e 00 01 00\n");
	cr_assert_eq(itest_wait_regs(&env, "app", ITEST_APP_NCMDS, 5000, &got), 0,
	    "app registrations after restart: %d", got);

	/* Same process: still running and listed with its pid. */
	cr_assert_eq(itest_wait_pid(hpid, 0), -1, "the handler exited");
	cr_assert_eq(itest_ctl(&env, &r, 5000, "--json", "list", NULL), 0);
	snprintf(pat, sizeof(pat), "\"pid\":%d,", (int)hpid);
	cr_assert_eq(itest_count(r.out, pat), ITEST_APP_NCMDS, "%s", r.out);

	cr_assert_eq(itest_stop_pid(hpid, 3000), 0);
	hpid = -1;
	cr_assert_eq(itest_daemon_stop(&env, 5000), 0,
	    "the daemon did not exit 0 on SIGTERM (log %s)", env.log);
	ITEST_ASSERT_LOGS_CLEAN(&env);
}

/* The fd number after the nth "WORD fd " in path, waiting for it. */
static int
fd_line(const char *path, const char *word, int nth, int timeout_ms)
{
	char	*text, *p, pat[64];
	int	 fd = -1, i;

	snprintf(pat, sizeof(pat), "%s fd ", word);
	if (itest_wait_count(path, pat, nth, timeout_ms) < 0)
		return -1;
	text = itest_read_file(path);
	for (p = text, i = 0; p != NULL && (p = strstr(p, pat)) != NULL;
	    p += strlen(pat))
		if (++i == nth) {
			fd = atoi(p + strlen(pat));
			break;
		}
	free(text);
	return fd;
}

Test(restart, a_libipmiclient_handler_keeps_its_fd_across_a_broker_restart)
{
	char		 log[160];
	char		*argv[] = { (char *)itest_bin("ITEST_STABLE_FD_HANDLER"),
			    NULL };
	char		 sockenv[192];
	char		*envp[] = { sockenv, NULL };
	struct itest_run r;
	int		 fd0, fd1, fd2;
	long		 took;

	setup();

	cr_assert_not_null(argv[0], "ITEST_STABLE_FD_HANDLER is not set");
	snprintf(log, sizeof(log), "%s/stable.log", env.dir);
	snprintf(sockenv, sizeof(sockenv), "IPMI_BROKER_SOCKET=%s", env.hsock);
	hpid = itest_spawn(log, argv, envp);
	cr_assert(hpid > 0);
	cr_assert_eq(itest_wait_file(log, "registered fd", 5000), 0,
	    "the handler did not register (log %s)", log);
	fd0 = fd_line(log, "start", 1, 0);
	fd1 = fd_line(log, "event-connected", 1, 0);
	cr_assert(fd0 >= 0, "no start line in %s", log);
	cr_assert_eq(fd1, fd0);
	cr_assert_eq(itest_ctl(&env, &r, 5000, "send", "0x30", "0x05", NULL),
	    0, "%s", r.err);
	cr_assert_str_eq(r.out, " 05\n");

	kill_broker(broker_pid(), &took);
	fd2 = fd_line(log, "event-connected", 2, 5000);
	cr_assert(fd2 >= 0, "no reconnect reported in %s", log);
	cr_log_info("fd %d at start, %d after the reconnect", fd0, fd2);
	cr_assert_eq(fd2, fd0, "fd changed from %d to %d", fd0, fd2);
	cr_assert_eq(itest_wait_file(log, "event-registered-again fd", 5000), 0);
	cr_assert_eq(itest_ctl(&env, &r, 5000, "send", "0x30", "0x05", NULL),
	    0, "%s", r.err);
	cr_assert_str_eq(r.out, " 05\n");

	cr_assert_eq(itest_stop_pid(hpid, 3000), 0);
	hpid = -1;
	cr_assert_eq(itest_daemon_stop(&env, 5000), 0,
	    "the daemon did not exit 0 on SIGTERM (log %s)", env.log);
	ITEST_ASSERT_LOGS_CLEAN(&env);
}
