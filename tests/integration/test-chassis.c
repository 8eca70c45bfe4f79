/* SPDX-License-Identifier: MIT */
/*
 * The chassis handler through the real daemon, driven by ipmi-ctl: the
 * status it keeps, boot flags as ipmitool writes them, and Chassis Control
 * running a configured command AFTER the answer went out, in the
 * background. The commands synchronise with the test through files and a
 * FIFO in the test's directory: the test decides when a command may end.
 */
#include <criterion/criterion.h>

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "itest.h"

#define CHASSIS_NCMDS	9

static struct itest_env	env;
static pid_t		chassis_pid = -1;
static char		gate[160], started[160], marker[160], hlog[160];

/*
 * Start the daemon and the chassis handler with [chassis] keys and
 * [commands] lines given. power_down writes "started", waits for the test
 * to open the gate FIFO, then writes "done" to the marker.
 */
static void
setup(const char *chassis, const char *commands)
{
	char	conf[192], text[2048], *argv[4], envbuf[192];
	char	*envp[] = { envbuf, NULL };
	int	got;

	cr_assert_eq(itest_env_init(&env), 0, "temp dir");
	snprintf(gate, sizeof(gate), "%s/gate", env.dir);
	snprintf(started, sizeof(started), "%s/started", env.dir);
	snprintf(marker, sizeof(marker), "%s/marker", env.dir);
	snprintf(hlog, sizeof(hlog), "%s/chassis.log", env.dir);
	cr_assert_eq(mkfifo(gate, 0600), 0, "mkfifo: %s", strerror(errno));
	snprintf(conf, sizeof(conf), "%s/chassis.conf", env.dir);
	snprintf(text, sizeof(text), "[chassis]\n%s\n[commands]\n"
	    "power_down = echo started >%s; cat %s >/dev/null; "
	    "echo done >%s\n%s", chassis, started, gate, marker, commands);
	cr_assert_eq(itest_write_file(conf, text), 0);
	cr_assert_eq(itest_write_config(&env, NULL), 0);
	cr_assert_eq(itest_daemon_start(&env, 5000), 0,
	    "daemon did not answer on %s (log %s)", env.csock, env.log);
	argv[0] = (char *)itest_bin("IPMI_HANDLER_CHASSIS");
	argv[1] = "-c";
	argv[2] = conf;
	argv[3] = NULL;
	cr_assert_not_null(argv[0], "IPMI_HANDLER_CHASSIS unset");
	snprintf(envbuf, sizeof(envbuf), "IPMI_BROKER_SOCKET=%s", env.hsock);
	chassis_pid = itest_spawn(hlog, argv, envp);
	cr_assert(chassis_pid > 0);
	cr_assert_eq(itest_wait_regs(&env, "chassis", CHASSIS_NCMDS, 5000,
	    &got), 0, "chassis registrations: expected %d, got %d",
	    CHASSIS_NCMDS, got);
}

static void
done(void)
{
	if (chassis_pid > 0)
		cr_assert_eq(itest_stop_pid(chassis_pid, 3000), 0,
		    "ipmi-handler-chassis did not exit 0 on SIGTERM");
	chassis_pid = -1;
	cr_assert_eq(itest_daemon_stop(&env, 5000), 0,
	    "the daemon did not exit 0 on SIGTERM (log %s)", env.log);
	ITEST_ASSERT_LOGS_CLEAN(&env);
}

static void
teardown(void)
{
	if (chassis_pid > 0)
		itest_stop_pid(chassis_pid, 3000);
	chassis_pid = -1;
	itest_env_cleanup(&env);
}

TestSuite(chassis, .fini = teardown, .timeout = 30);

/* ipmi-ctl --json send ARGS: the completion code and data. */
static unsigned int
send_cc(uint8_t *data, size_t *len, const char *cmd, const char *a0,
    const char *a1, const char *a2, const char *a3, const char *a4)
{
	static struct itest_run	r;
	unsigned int		cc = 0x100;

	cr_assert_eq(itest_send_json(&env, &r, &cc, data, len, "0x00", cmd,
	    a0, a1, a2, a3, a4, NULL), 0, "send 0x00 %s: %s %s", cmd, r.out,
	    r.err);
	return cc;
}

static uint8_t
status_byte(int i)
{
	uint8_t	data[64];
	size_t	len;

	cr_assert_eq(send_cc(data, &len, "0x01", NULL, NULL, NULL, NULL,
	    NULL), 0x00);
	cr_assert_eq(len, 4, "status has %zu bytes", len);
	return data[i];
}

/*
 * Open the gate for writing once the command has opened it for reading
 * ("started" is written just before, so that may take a moment).
 */
static int
gate_open(int timeout_ms)
{
	int64_t	end = itest_now_ms() + timeout_ms;
	int	fd;

	while ((fd = open(gate, O_WRONLY | O_NONBLOCK)) == -1 &&
	    errno == ENXIO && itest_now_ms() < end)
		itest_pause_ms(5);
	return fd;
}

Test(chassis, status_reports_the_configured_power_and_policy)
{
	struct itest_run	r;

	setup("power = on\nrestore_policy = always-on", "");
	cr_assert_eq(itest_ctl(&env, &r, 5000, "send", "0x00", "0x01", NULL),
	    0, "exit %d: %s", r.status, r.err);
	cr_assert_str_eq(r.out, " 41 00 40 00\n");
	done();
}

Test(chassis, power_down_is_answered_before_its_command_runs_and_finishes)
{
	uint8_t			data[64];
	size_t			len;
	struct itest_run	r;
	int			fd;

	setup("", "");
	cr_assert_eq(send_cc(data, &len, "0x02", "0x00", NULL, NULL, NULL,
	    NULL), 0x00, "power down refused");
	/* The answer came while the command waits at the gate. */
	cr_assert_eq(itest_wait_file(started, "started", 5000), 0,
	    "the power_down command did not start");
	cr_assert_eq(access(marker, F_OK), -1, "the command finished before "
	    "the test let it");
	/* The handler still answers meanwhile: still on, and busy. */
	cr_assert_eq(status_byte(0) & 0x01, 0x01);
	cr_assert_eq(send_cc(data, &len, "0x02", "0x03", NULL, NULL, NULL,
	    NULL), 0xc0, "a second control while one runs is busy");
	fd = gate_open(5000);
	cr_assert(fd >= 0, "open the gate: %s", strerror(errno));
	cr_assert_eq(write(fd, "go\n", 3), 3);
	close(fd);
	cr_assert_eq(itest_wait_file(marker, "done", 5000), 0,
	    "the power_down command did not finish");
	cr_assert_eq(itest_wait_file(hlog, "power_down: done", 5000), 0);
	cr_assert_eq(status_byte(0) & 0x11, 0x00, "power off, no fault");
	cr_assert_eq(itest_ctl(&env, &r, 5000, "send", "0x00", "0x01", NULL),
	    0);
	done();
}

Test(chassis, a_command_past_its_timeout_is_killed_and_sets_the_fault_bit)
{
	uint8_t	data[64];
	size_t	len;

	/* power_down waits at the gate, which the test never opens. */
	setup("command_timeout = 1", "");
	cr_assert_eq(send_cc(data, &len, "0x02", "0x00", NULL, NULL, NULL,
	    NULL), 0x00);
	cr_assert_eq(itest_wait_file(hlog, "power_down: command timed out",
	    5000), 0, "no timeout in %s", hlog);
	cr_assert_eq(status_byte(0) & 0x11, 0x11, "still on, with a fault");
	cr_assert_eq(access(marker, F_OK), -1, "the command was not killed");
	done();
}

Test(chassis, power_up_without_a_command_is_refused_with_cc)
{
	uint8_t	data[64];
	size_t	len;

	setup("", "");
	cr_assert_eq(send_cc(data, &len, "0x02", "0x01", NULL, NULL, NULL,
	    NULL), 0xcc);
	cr_assert_eq(send_cc(data, &len, "0x02", "0x03", NULL, NULL, NULL,
	    NULL), 0xcc, "ctl has no machine without machine_bus");
	cr_assert_eq(send_cc(data, &len, "0x02", "0x06", NULL, NULL, NULL,
	    NULL), 0xcc);
	done();
}

Test(chassis, a_bus_control_that_fails_after_the_answer_sets_the_fault_bit)
{
	uint8_t	data[64];
	size_t	len;

	setup("machine_bus = nosuch", "");
	cr_assert_eq(send_cc(data, &len, "0x02", "0x03", NULL, NULL, NULL,
	    NULL), 0x00, "the answer goes first");
	cr_assert_eq(itest_wait_file(hlog, "hard_reset on bus nosuch:", 5000),
	    0, "no bus control failure in %s", hlog);
	cr_assert_eq(status_byte(0) & 0x10, 0x10);
	done();
}

/* What `ipmitool chassis bootdev pxe` then `bootparam get 5` send. */
Test(chassis, boot_flags_round_trip_as_ipmitool_sets_them)
{
	uint8_t			data[64];
	size_t			len;
	struct itest_run	r;

	setup("", "");
	cr_assert_eq(send_cc(data, &len, "0x08", "0x00", "0x01", NULL, NULL,
	    NULL), 0);
	cr_assert_eq(send_cc(data, &len, "0x08", "0x04", "0x01", "0x01",
	    NULL, NULL), 0);
	cr_assert_eq(itest_ctl(&env, &r, 5000, "send", "0x00", "0x08", "0x05",
	    "0x80", "0x04", "0x00", "0x00", "0x00", NULL), 0, "%s", r.err);
	cr_assert_eq(send_cc(data, &len, "0x08", "0x00", "0x02", NULL, NULL,
	    NULL), 0);
	cr_assert_eq(send_cc(data, &len, "0x08", "0x00", "0x00", NULL, NULL,
	    NULL), 0);
	cr_assert_eq(itest_ctl(&env, &r, 5000, "send", "0x00", "0x09", "0x05",
	    "0x00", "0x00", NULL), 0, "%s", r.err);
	cr_assert_str_eq(r.out, " 01 05 80 04 00 00 00\n");
	cr_assert_eq(send_cc(data, &len, "0x09", "0x07", "0x00", "0x00",
	    NULL, NULL), 0x80, "the mailbox is not kept");
	done();
}

Test(chassis, identify_shows_in_the_status)
{
	uint8_t	data[64];
	size_t	len;

	setup("", "");
	cr_assert_eq(status_byte(2), 0x40);
	cr_assert_eq(send_cc(data, &len, "0x04", "0x00", "0x01", NULL, NULL,
	    NULL), 0);
	cr_assert_eq(status_byte(2), 0x60, "forced on");
	cr_assert_eq(send_cc(data, &len, "0x04", "0x0a", NULL, NULL, NULL,
	    NULL), 0);
	cr_assert_eq(status_byte(2), 0x50, "on for 10 s");
	done();
}
