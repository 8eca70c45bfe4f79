/* SPDX-License-Identifier: MIT */
/*
 * The supervisor's side of buses, end to end: it opens the device once
 * (here an emulated bt-bmc behind a socket) and keeps it; it runs the real
 * BT driver on it and restarts it on the same fd when it dies, with backoff
 * when it keeps dying; after a broker crash the new broker gets new driver
 * links, still on the same device. As root, the broker and the drivers run
 * as nobody with no capabilities at all and the supervisor keeps four.
 * Handlers keep their registrations throughout; ipmi-ctl buses says what
 * happened; ipmi-ctl send --bus injects as if from the bus; handlers raise
 * attention through libipmiclient.
 */
#include <criterion/criterion.h>

#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "emu.h"
#include "ipmi/ipmiclient.h"
#include "itest.h"

#define BUS	"bt0"

static struct itest_env	env;
static struct emu	*e;
static char		path[100];
static pid_t		app = -1;

static void
host_send(uint8_t netfn, uint8_t seq, uint8_t cmd)
{
	uint8_t	f[4] = { 3, (uint8_t)(netfn << 2), seq, cmd };

	cr_assert_eq(emu_host_request(e, f, sizeof(f)), 0);
}

/* Send Get Device ID until the App handler answers it; returns the cc. */
static int
host_devid(int timeout_ms)
{
	uint8_t	f[256];
	int64_t	end = itest_now_ms() + timeout_ms;
	size_t	n;

	do {
		host_send(0x06, 0x11, 0x01);
		n = emu_host_response(e, f, sizeof(f), 2000);
		if (n >= 5 && f[4] == 0x00 && f[2] == 0x11)
			return 0;
		itest_pause_ms(20);
	} while (itest_now_ms() < end);
	return n >= 5 ? f[4] : -1;
}

/* The bt0 record of ipmi-ctl --json buses. */
static int
bus_field(const char *key, uint64_t *v)
{
	struct itest_run	 r;
	char			*at;

	if (itest_ctl(&env, &r, 5000, "--json", "buses", NULL) != 0)
		return -1;
	if ((at = strstr(r.out, "\"name\":\"" BUS "\"")) == NULL)
		return -1;
	return itest_json_u64(at, key, v);
}

static bool
bus_text(const char *key, const char *want)
{
	struct itest_run	 r;
	char			 needle[128], *at;

	if (itest_ctl(&env, &r, 5000, "--json", "buses", NULL) != 0)
		return false;
	if ((at = strstr(r.out, "\"name\":\"" BUS "\"")) == NULL)
		return false;
	snprintf(needle, sizeof(needle), "\"%s\":\"%s\"", key, want);
	return strstr(at, needle) != NULL &&
	    (strchr(at, '}') == NULL || strstr(at, needle) < strchr(at, '}'));
}

/* Wait until bt0's driver pid is set and differs from old. */
static pid_t
wait_driver(pid_t old, int timeout_ms)
{
	int64_t		end = itest_now_ms() + timeout_ms;
	uint64_t	pid;

	do {
		if (bus_field("pid", &pid) == 0 && pid != 0 &&
		    (pid_t)pid != old && bus_text("state", "up"))
			return (pid_t)pid;
		itest_pause_ms(10);
	} while (itest_now_ms() < end);
	return -1;
}

static void
start(const char *drv, const char *extra)
{
	cr_assert_not_null(drv, "no driver program");
	cr_assert_eq(itest_env_init(&env), 0);
	snprintf(path, sizeof(path), "%s/bt.sock", env.dir);
	cr_assert_not_null(e = emu_start(EMU_BT, path));
	cr_assert_eq(itest_write_config(&env, "%s[bus " BUS "]\n"
	    "driver = bt\ndevice = %s\nchannel = 1\ndriver_path = %s\n",
	    extra, path, drv), 0);
	cr_assert_eq(itest_daemon_start(&env, 5000), 0, "log %s", env.log);
}

static void
start_with_app(const char *extra)
{
	start(itest_bin("IPMI_BUSDRV_BT_EMU"), extra);
	cr_assert(emu_wait_sessions(e, 1, 5000), "no driver session");
	app = itest_handler_start(&env, "IPMI_HANDLER_APP", "app-handler.conf",
	    "app");
	cr_assert(app > 0);
	cr_assert_eq(host_devid(10000), 0, "Get Device ID not answered "
	    "(log %s)", env.log);
}

static void
teardown(void)
{
	if (app > 0)
		itest_stop_pid(app, 3000);
	app = -1;
	if (env.pid > 0)
		itest_daemon_stop(&env, 5000);
	emu_stop(e);
	e = NULL;
	if (getenv("EMU_KEEP") == NULL)
		itest_env_cleanup(&env);
}

TestSuite(daemon_buses, .fini = teardown, .timeout = 60);

Test(daemon_buses, killed_driver_restarts_on_the_same_device_within_a_second)
{
	struct itest_run	r;
	pid_t			first, second;
	int64_t			t0;
	uint64_t		restarts;

	start_with_app("");
	first = wait_driver(0, 5000);
	cr_assert(first > 0, "no driver pid in ipmi-ctl buses");
	t0 = itest_now_ms();
	cr_assert_eq(kill(first, SIGKILL), 0);
	second = wait_driver(first, 5000);
	cr_assert(second > 0, "no new driver (log %s)", env.log);
	cr_assert_lt(itest_now_ms() - t0, 1000, "restart took %lld ms",
	    (long long)(itest_now_ms() - t0));
	/* Same device fd: one connection from the supervisor, a second
	 * driver session on it; the host never saw the device closed. */
	cr_assert(emu_connected(e));
	cr_assert(emu_wait_sessions(e, 2, 5000));
	cr_assert_eq(bus_field("restarts", &restarts), 0);
	cr_assert_eq(restarts, 1);
	cr_assert(bus_text("last_exit", "killed by signal 9"));
	/* The handler kept its registrations: no re-registration needed. */
	cr_assert_eq(host_devid(5000), 0);
	cr_assert_eq(itest_ctl(&env, &r, 5000, "list", NULL), 0);
	cr_assert(strstr(r.out, "app") != NULL);
}

Test(daemon_buses, a_driver_that_keeps_dying_is_restarted_with_backoff)
{
	uint64_t	restarts = 0;
	int64_t		end;

	/* A "driver" that exits at once, every time. */
	start("/bin/false", "");
	end = itest_now_ms() + 3000;
	while (itest_now_ms() < end) {
		if (bus_field("restarts", &restarts) == 0 && restarts >= 3)
			break;
		itest_pause_ms(20);
	}
	cr_assert_geq(restarts, 3, "restarts %llu (log %s)",
	    (unsigned long long)restarts, env.log);
	/* 100 + 200 + 400 + 800 + 1600 ms: in 3 s no more than 5, where a
	 * spinning supervisor would have made hundreds. */
	cr_assert_leq(restarts, 5, "restarts %llu in 3 s",
	    (unsigned long long)restarts);
	cr_assert(bus_text("last_exit", "exited with status 1"));
	cr_assert_eq(itest_wait_file(env.log, "keeps dying", 15000), 0,
	    "the crash loop was not reported (log %s)", env.log);
}

Test(daemon_buses, killed_broker_comes_back_with_drivers_on_the_same_device)
{
	uint64_t	bpid, bpid2;
	pid_t		drv, drv2;
	int64_t		end;

	start_with_app("");
	drv = wait_driver(0, 5000);
	cr_assert(drv > 0);
	cr_assert_eq(itest_status(&env, "broker_pid", &bpid), 0);
	cr_assert_eq(kill((pid_t)bpid, SIGKILL), 0);
	end = itest_now_ms() + 5000;
	do {
		itest_pause_ms(20);
		bpid2 = 0;
		(void)itest_status(&env, "broker_pid", &bpid2);
	} while ((bpid2 == 0 || bpid2 == bpid) && itest_now_ms() < end);
	cr_assert(bpid2 != 0 && bpid2 != bpid, "no new broker");
	drv2 = wait_driver(drv, 5000);
	cr_assert(drv2 > 0, "no new driver (log %s)", env.log);
	cr_assert(emu_connected(e));
	cr_assert(emu_wait_sessions(e, 2, 5000));
	/* The App handler reconnected by itself; the host is served. */
	cr_assert_eq(host_devid(10000), 0, "log %s", env.log);
}

Test(daemon_buses, send_with_bus_carries_that_bus_facts_to_the_handler)
{
	struct itest_run	r;
	uint8_t			d[16];
	size_t			n = 0;

	start_with_app("");
	/* Get Channel Info for "this channel": the App handler answers
	 * from the facts of the bus the request came in on. */
	cr_assert_eq(itest_ctl(&env, &r, 5000, "--json", "send", "--bus",
	    BUS, "0x06", "0x42", "0x0e", NULL), 0, "%s", r.err);
	cr_assert_eq(itest_json_bytes(r.out, "data", d, sizeof(d), &n), 0,
	    "%s", r.out);
	cr_assert_geq(n, 3, "%s", r.out);
	cr_assert_eq(d[0], 1, "channel %u", d[0]);	/* bt0's channel */
	cr_assert_eq(d[1], 12, "medium %u", d[1]);	/* system interface */
	cr_assert_eq(d[2], 8, "protocol %u", d[2]);	/* BT-15 */
	cr_assert_neq(itest_ctl(&env, &r, 5000, "send", "--bus", "nosuch",
	    "0x06", "0x01", NULL), 0);
	cr_assert(strstr(r.err, "no bus 'nosuch'") != NULL, "%s", r.err);
}

Test(daemon_buses, handlers_raise_attention_and_learn_bt_cannot_clear_it)
{
	struct ipmic		*c;
	struct ipmic_error	 err;

	start_with_app("");
	cr_assert_not_null(c = ipmic_new("attn-test"));
	cr_assert_eq(ipmic_set_socket(c, env.hsock), 0);
	cr_assert_eq(ipmic_connect(c, 5000), 0);
	cr_assert_not(emu_attention(e));
	cr_assert_eq(ipmic_attention(c, BUS, true, &err), 0, "%s",
	    err.message);
	cr_assert(emu_attention(e));
	cr_assert_eq(emu_ioctl_count(e, 0xb100), 1);
	cr_assert_eq(ipmic_attention(c, BUS, false, &err),
	    IPMIC_E_UNSUPPORTED);
	cr_assert(strstr(err.message, "clears SMS_ATN itself") != NULL,
	    "%s", err.message);
	cr_assert_eq(ipmic_attention(c, "nosuch", true, &err),
	    IPMIC_E_NO_BUS);
	ipmic_free(c);
}

/* /proc/PID/status field as a number (hex for Cap*). */
static unsigned long long
proc_field(pid_t pid, const char *field, int base)
{
	char	 p[64], *text, *at;

	snprintf(p, sizeof(p), "/proc/%d/status", (int)pid);
	cr_assert_not_null(text = itest_read_file(p));
	cr_assert_not_null(at = strstr(text, field), "%s in %s", field, p);
	at += strlen(field);
	unsigned long long v = strtoull(at, NULL, base);
	free(text);
	return v;
}

static bool
proc_no_groups(pid_t pid)
{
	char	 p[64], *text, *at, *eol;
	bool	 empty;

	snprintf(p, sizeof(p), "/proc/%d/status", (int)pid);
	cr_assert_not_null(text = itest_read_file(p));
	cr_assert_not_null(at = strstr(text, "Groups:"));
	at += strlen("Groups:");
	eol = strchr(at, '\n');
	empty = strspn(at, " \t") == (size_t)(eol - at);
	free(text);
	return empty;
}

static void
assert_unprivileged(pid_t pid, const char *who)
{
	static const char *caps[] = { "CapInh:", "CapPrm:", "CapEff:",
	    "CapBnd:", "CapAmb:" };
	struct passwd	*pw = getpwnam("nobody");
	size_t		 i;

	cr_assert_not_null(pw);
	for (i = 0; i < sizeof(caps) / sizeof(caps[0]); i++)
		cr_assert_eq(proc_field(pid, caps[i], 16), 0,
		    "%s[%d] %s not zero", who, (int)pid, caps[i]);
	cr_assert_eq(proc_field(pid, "Uid:", 10), pw->pw_uid,
	    "%s runs as uid %llu", who, proc_field(pid, "Uid:", 10));
	cr_assert(proc_no_groups(pid), "%s has supplementary groups", who);
}

Test(daemon_buses, as_root_broker_and_driver_run_as_nobody_with_no_capabilities)
{
	uint64_t	bpid;
	pid_t		drv;
	unsigned long long eff;

	if (geteuid() != 0)
		cr_skip_test("needs root to change users (CI runs as root)");
	start_with_app("user = nobody\ngroup = nogroup\n");
	drv = wait_driver(0, 5000);
	cr_assert(drv > 0);
	cr_assert_eq(itest_status(&env, "broker_pid", &bpid), 0);
	assert_unprivileged((pid_t)bpid, "broker");
	assert_unprivileged(drv, "bt driver");
	/* The supervisor keeps what starting children takes, nothing more:
	 * CAP_KILL (5), CAP_SETGID (6), CAP_SETUID (7), CAP_SETPCAP (8). */
	eff = proc_field(env.pid, "CapEff:", 16);
	cr_assert_eq(eff, (1ull << 5) | (1ull << 6) | (1ull << 7) |
	    (1ull << 8), "supervisor CapEff %llx", eff);
	/* And the host is still served through them. */
	cr_assert_eq(host_devid(5000), 0);
}
