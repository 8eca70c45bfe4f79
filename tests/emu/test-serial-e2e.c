/* SPDX-License-Identifier: MIT */
/*
 * Serial end to end: stock ipmitool (-I serial-basic and -I
 * serial-terminal) against the real daemon running the shipped serial
 * driver (ipmi-busdrv-serial), the real App and OEM handlers and raw
 * handlers. Nothing is emulated: the line is a pty.
 *
 * Both sides want to open a tty by path (the supervisor opens the
 * configured device, ipmitool takes -D /dev/pts/N), and a pty has only
 * one slave. So the test makes two ptys and joins their masters with a
 * relay thread: a null-modem cable in software. The daemon opens slave A,
 * ipmitool opens slave B; bytes written on either slave come out of the
 * other. The test also holds both slaves open, so a master never sees
 * the line hang up between ipmitool runs, and it can play the host
 * byte by byte itself: it writes to master A (as if from slave B) and
 * reads what the driver sends from slave B.
 *
 * ipmitool comes from Debian's ipmitool package (tools/deps.sh); without
 * it these tests fail saying so.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "itest.h"

#define SER_BUS		"ser0"
#define SER_CHANNEL	2
#define APP_NCMDS	ITEST_APP_NCMDS
#define IPMITOOL_MS	30000
#define DEADLINE_MS	1500

struct pty {
	int	master;
	int	slave;		/* held open by the test */
	char	path[64];
};

static struct itest_env	 env;
static struct pty	 pa = { -1, -1, "" }, pb = { -1, -1, "" };
static pthread_t	 relay_thread;
static bool		 relay_running;
static int		 relay_stop[2] = { -1, -1 };
static pid_t		 app_pid = -1, oem_pid = -1;
static struct rawh_child stall = { -1, -1, -1 };
static char		 ipmitool[256];
static int		 runs;

static void
pty_open(struct pty *p)
{
	char	*name;

	p->master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	cr_assert_geq(p->master, 0, "posix_openpt: %s", strerror(errno));
	cr_assert_eq(grantpt(p->master), 0);
	cr_assert_eq(unlockpt(p->master), 0);
	cr_assert_not_null(name = ptsname(p->master));
	snprintf(p->path, sizeof(p->path), "%s", name);
	p->slave = open(p->path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	cr_assert_geq(p->slave, 0, "open %s: %s", p->path, strerror(errno));
}

static void
pty_close(struct pty *p)
{
	if (p->slave >= 0)
		close(p->slave);
	if (p->master >= 0)
		close(p->master);
	p->slave = p->master = -1;
}

/* Copy everything from one master to the other. */
static bool
relay_copy(int from, int to)
{
	uint8_t	buf[4096];
	ssize_t	n, w, off;

	n = read(from, buf, sizeof(buf));
	if (n <= 0)
		return n < 0 && (errno == EAGAIN || errno == EINTR);
	for (off = 0; off < n; off += w) {
		w = write(to, buf + off, (size_t)(n - off));
		if (w < 0 && errno == EINTR)
			w = 0;
		else if (w < 0 && errno == EAGAIN) {
			(void)poll(&(struct pollfd){ to, POLLOUT, 0 }, 1, 100);
			w = 0;
		} else if (w < 0)
			return false;
	}
	return true;
}

static void *
relay_main(void *arg)
{
	struct pollfd	p[3];

	(void)arg;
	p[0] = (struct pollfd){ pa.master, POLLIN, 0 };
	p[1] = (struct pollfd){ pb.master, POLLIN, 0 };
	p[2] = (struct pollfd){ relay_stop[0], POLLIN, 0 };
	for (;;) {
		if (poll(p, 3, -1) < 0 && errno != EINTR)
			break;
		if (p[2].revents)
			break;
		if ((p[0].revents & POLLIN) && !relay_copy(pa.master,
		    pb.master))
			break;
		if ((p[1].revents & POLLIN) && !relay_copy(pb.master,
		    pa.master))
			break;
		if ((p[0].revents | p[1].revents) & (POLLHUP | POLLERR))
			break;	/* a slave went away: the test is over */
	}
	return NULL;
}

static void
relay_start(void)
{
	int	fl;

	cr_assert_eq(pipe2(relay_stop, O_CLOEXEC), 0);
	fl = fcntl(pa.master, F_GETFL);
	cr_assert_eq(fcntl(pa.master, F_SETFL, fl | O_NONBLOCK), 0);
	fl = fcntl(pb.master, F_GETFL);
	cr_assert_eq(fcntl(pb.master, F_SETFL, fl | O_NONBLOCK), 0);
	cr_assert_eq(pthread_create(&relay_thread, NULL, relay_main, NULL),
	    0);
	relay_running = true;
}

static void
relay_end(void)
{
	if (relay_running) {
		(void)write(relay_stop[1], "x", 1);
		pthread_join(relay_thread, NULL);
		relay_running = false;
	}
	if (relay_stop[0] >= 0)
		close(relay_stop[0]);
	if (relay_stop[1] >= 0)
		close(relay_stop[1]);
	relay_stop[0] = relay_stop[1] = -1;
}

/* ipmitool from PATH, as tools/deps.sh installs it. */
static void
find_ipmitool(void)
{
	const char	*path = getenv("PATH");
	char		 dirs[1024], *dir, *save = NULL;

	ipmitool[0] = '\0';
	snprintf(dirs, sizeof(dirs), "%s",
	    path != NULL ? path : "/usr/bin:/bin");
	for (dir = strtok_r(dirs, ":", &save); dir != NULL;
	    dir = strtok_r(NULL, ":", &save)) {
		snprintf(ipmitool, sizeof(ipmitool), "%s/ipmitool", dir);
		if (access(ipmitool, X_OK) == 0)
			return;
	}
	if (access("/usr/bin/ipmitool", X_OK) == 0) {
		snprintf(ipmitool, sizeof(ipmitool), "/usr/bin/ipmitool");
		return;
	}
	cr_assert_fail("ipmitool is not installed: run tools/deps.sh (Debian "
	    "package ipmitool)");
}

static void
setup(void)
{
	const char	*brokerd = itest_bin("IPMI_BROKERD");
	char		 drv[PATH_MAX], dir[PATH_MAX - 64], *slash;
	struct termios	 t;

	find_ipmitool();
	cr_assert_not_null(brokerd, "IPMI_BROKERD is not set");
	snprintf(dir, sizeof(dir), "%s", brokerd);
	cr_assert_not_null(slash = strrchr(dir, '/'));
	*slash = '\0';
	snprintf(drv, sizeof(drv), "%s/../bus-drivers/ipmi-busdrv-serial",
	    dir);
	cr_assert_eq(access(drv, X_OK), 0, "no serial driver at %s", drv);
	cr_assert_eq(itest_env_init(&env), 0, "temp dir");
	pty_open(&pa);
	pty_open(&pb);
	/* Slave B waits for ipmitool: no echo of late answers meanwhile. */
	cr_assert_eq(tcgetattr(pb.slave, &t), 0);
	cfmakeraw(&t);
	cr_assert_eq(tcsetattr(pb.slave, TCSANOW, &t), 0);
	relay_start();
	runs = 0;
	cr_assert_eq(itest_write_config(&env,
	    "[bus " SER_BUS "]\ndriver = serial\ndevice = %s\n"
	    "channel = %d\nbaud = 115200\ndeadline_ms = %d\n"
	    "driver_path = %s\n", pa.path, SER_CHANNEL, DEADLINE_MS, drv), 0);
	cr_assert_eq(itest_daemon_start(&env, 5000), 0,
	    "daemon did not answer on %s (log %s)", env.csock, env.log);
	cr_assert_eq(itest_wait_file(env.log, "bus " SER_BUS
	    ": broker deadline", 5000), 0,
	    "the serial driver was not welcomed (log %s)", env.log);
}

static void
teardown(void)
{
	rawh_child_stop(&stall);
	if (app_pid > 0)
		itest_stop_pid(app_pid, 3000);
	if (oem_pid > 0)
		itest_stop_pid(oem_pid, 3000);
	app_pid = oem_pid = -1;
	itest_env_cleanup(&env);
	relay_end();
	pty_close(&pa);
	pty_close(&pb);
}

/* The end of every passing test: everything stops cleanly. */
static void
done(void)
{
	rawh_child_stop(&stall);
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

TestSuite(serial_e2e, .init = setup, .fini = teardown, .timeout = 90);

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

static void
start_oem(void)
{
	int	got;

	oem_pid = itest_handler_start(&env, "IPMI_HANDLER_OEM",
	    "oem-example.conf", "oem");
	cr_assert(oem_pid > 0, "the oem handler did not start");
	cr_assert_eq(itest_wait_regs(&env, "oem-example", 1, 5000, &got), 0,
	    "oem-example registrations: expected 1, got %d", got);
}

/*
 * Run ipmitool -I intf -D slaveB:115200 raw ARGS..., bounded; returns its
 * exit code with everything it printed in out.
 */
static int
run_ipmitool(const char *intf, char *out, size_t max, long *ms, ...)
{
	char		*argv[32], dev[96], log[160], *text, *a;
	va_list		 ap;
	int		 argc = 0, code;
	int64_t		 start;
	pid_t		 pid;

	snprintf(dev, sizeof(dev), "%s:115200", pb.path);
	snprintf(log, sizeof(log), "%s/ipmitool-%d.out", env.dir, ++runs);
	argv[argc++] = ipmitool;
	argv[argc++] = "-I";
	argv[argc++] = (char *)intf;
	argv[argc++] = "-D";
	argv[argc++] = dev;
	argv[argc++] = "raw";
	va_start(ap, ms);
	while ((a = va_arg(ap, char *)) != NULL && argc < 31)
		argv[argc++] = a;
	va_end(ap);
	argv[argc] = NULL;
	start = itest_now_ms();
	cr_assert_gt(pid = itest_spawn(log, argv, NULL), 0);
	code = itest_wait_pid(pid, IPMITOOL_MS);
	if (code == -1)
		itest_stop_pid(pid, 1000);
	cr_assert_neq(code, -1, "ipmitool -I %s ran over %d ms (log %s)",
	    intf, IPMITOOL_MS, env.log);
	if (ms != NULL)
		*ms = (long)(itest_now_ms() - start);
	text = itest_read_file(log);
	snprintf(out, max, "%s", text != NULL ? text : "");
	free(text);
	return code;
}

/* Both interfaces, one after the other, give the same answer. */
static const char *ipmitool_intfs[] = { "serial-basic", "serial-terminal" };

Test(serial_e2e, ipmitool_get_device_id_prints_the_app_handlers_bytes)
{
	static const char	want[] = " 20 01 01 02 02 00 d9 7e 00 01 00\n";
	char			out[4096];
	size_t			i;
	long			ms;

	start_app();
	for (i = 0; i < 2; i++) {
		cr_assert_eq(run_ipmitool(ipmitool_intfs[i], out, sizeof(out),
		    &ms, "6", "1", NULL), 0, "ipmitool -I %s failed: %s",
		    ipmitool_intfs[i], out);
		cr_assert_str_eq(out, want, "ipmitool -I %s printed '%s'",
		    ipmitool_intfs[i], out);
		/* The PICMG probe must be answered at once, or ipmitool
		 * waits out its 5 s timeout first. */
		cr_assert_lt(ms, 4000, "ipmitool -I %s took %ld ms",
		    ipmitool_intfs[i], ms);
	}
	done();
}

Test(serial_e2e, unregistered_command_is_reported_as_c1_by_ipmitool)
{
	char	out[4096];
	size_t	i;

	for (i = 0; i < 2; i++) {
		cr_assert_eq(run_ipmitool(ipmitool_intfs[i], out, sizeof(out),
		    NULL, "0x30", "0x42", NULL), 1, "ipmitool -I %s: %s",
		    ipmitool_intfs[i], out);
		cr_assert_not_null(strstr(out, "rsp=0xc1"),
		    "ipmitool -I %s printed '%s'", ipmitool_intfs[i], out);
	}
	done();
}

Test(serial_e2e, oem_request_reaches_oem_example_by_iana)
{
	static const char	want[] = " d9 7e 00 aa\n";
	char			out[4096];
	size_t			i;

	start_oem();
	for (i = 0; i < 2; i++) {
		cr_assert_eq(run_ipmitool(ipmitool_intfs[i], out, sizeof(out),
		    NULL, "0x2e", "0x01", "0xd9", "0x7e", "0x00", "0xaa",
		    NULL), 0, "ipmitool -I %s failed: %s",
		    ipmitool_intfs[i], out);
		cr_assert_str_eq(out, want, "ipmitool -I %s printed '%s'",
		    ipmitool_intfs[i], out);
	}
	done();
}

Test(serial_e2e, stalled_handler_is_answered_c3_by_the_broker_in_time)
{
	Hnd__Key	key = rawh_key(0x30, false, 0x10);
	char		out[4096], line[64];
	size_t		i;
	long		ms;

	cr_assert_eq(rawh_child_start(&stall, env.hsock, "stall", &key, 1,
	    true, 0, NULL, 0), 0);
	cr_assert_eq(rawh_child_line(&stall, line, sizeof(line), 5000), 0);
	cr_assert_eq(strncmp(line, "ok", 2), 0, "stalling handler: %s", line);
	for (i = 0; i < 2; i++) {
		cr_assert_eq(run_ipmitool(ipmitool_intfs[i], out, sizeof(out),
		    &ms, "0x30", "0x10", NULL), 1, "ipmitool -I %s: %s",
		    ipmitool_intfs[i], out);
		cr_assert_not_null(strstr(out, "rsp=0xc3"),
		    "ipmitool -I %s printed '%s'", ipmitool_intfs[i], out);
		/* One try: the answer beat ipmitool's 5 s resend. */
		cr_assert_lt(ms, 5000, "ipmitool -I %s took %ld ms",
		    ipmitool_intfs[i], ms);
	}
	done();
}

/* ---- the bytes on the line, with the test as the host ---- */

/* Send as the host: into master A, as if written on slave B. */
static void
host_write(const void *buf, size_t len)
{
	cr_assert_eq(write(pa.master, buf, len), (ssize_t)len);
}

/* Read what the driver sent (arriving on slave B) until want bytes came
 * or timeout_ms passed; returns the count. */
static size_t
host_read(uint8_t *buf, size_t want, int timeout_ms)
{
	int64_t		end = itest_now_ms() + timeout_ms, left;
	struct pollfd	p = { pb.slave, POLLIN, 0 };
	size_t		got = 0;
	ssize_t		n;

	while (got < want && (left = end - itest_now_ms()) > 0) {
		if (poll(&p, 1, (int)left) <= 0)
			continue;
		n = read(pb.slave, buf + got, want - got);
		if (n > 0)
			got += (size_t)n;
	}
	return got;
}

static void
assert_host_reads(const uint8_t *want, size_t len)
{
	uint8_t	got[256];
	size_t	n, i;

	n = host_read(got, len, 5000);
	cr_assert_eq(n, len, "read %zu bytes, expected %zu (log %s)", n, len,
	    env.log);
	for (i = 0; i < len; i++)
		cr_assert_eq(got[i], want[i], "byte %zu: 0x%02x, expected "
		    "0x%02x", i, got[i], want[i]);
	cr_assert_eq(host_read(got, 1, 200), 0, "bytes after the answer");
}

Test(serial_e2e, basic_probe_gets_handshake_then_c1_with_body_code)
{
	static const uint8_t	probe[] = { 0xa0, 0x20, 0xb0, 0x30, 0x81,
				    0x04, 0x00, 0x00, 0x7b, 0xa5 };
	static const uint8_t	want[] = { 0xa6, 0xa0, 0x81, 0xb4, 0xcb,
				    0x20, 0x04, 0x00, 0xc1, 0x00, 0xaa, 0x3b,
				    0xa5 };

	host_write(probe, sizeof(probe));
	assert_host_reads(want, sizeof(want));
	done();
}

Test(serial_e2e, terminal_probe_gets_a_c1_line_with_body_code)
{
	static const char	want[] = "[B4 04 00 C1 00]\r\n";

	host_write("[B0040000]\r\n", 12);
	assert_host_reads((const uint8_t *)want, strlen(want));
	done();
}

Test(serial_e2e, bad_checksum_is_dropped_and_counted_then_the_line_works)
{
	static const uint8_t	bad[] = { 0xa0, 0x20, 0xb0, 0x30, 0x81,
				    0x04, 0x00, 0x00, 0x7c, 0xa5 };
	char			out[4096], row[4096];
	struct itest_run	r;
	uint64_t		v = 0;
	int64_t			end;
	uint8_t			got[16];

	start_app();
	host_write(bad, sizeof(bad));
	cr_assert_eq(host_read(got, sizeof(got), 700), 0,
	    "a frame with a bad checksum was answered");
	end = itest_now_ms() + 5000;
	do {
		if (itest_ctl(&env, &r, 5000, "--json", "buses", NULL) == 0 &&
		    itest_line_with(r.out, "\"name\":\"" SER_BUS "\"", NULL,
		    row, sizeof(row)) == 0)
			(void)itest_json_u64(row, "bad_checksum", &v);
		if (v < 1)
			itest_pause_ms(100);
	} while (v < 1 && itest_now_ms() < end);
	cr_assert_eq(v, 1, "bad_checksum %llu (log %s)",
	    (unsigned long long)v, env.log);
	cr_assert_eq(run_ipmitool("serial-basic", out, sizeof(out), NULL,
	    "6", "1", NULL), 0, "ipmitool failed after a bad frame: %s", out);
	done();
}

Test(serial_e2e, the_driver_puts_the_line_in_raw_mode_at_the_configured_speed)
{
	struct termios	t;

	cr_assert_eq(tcgetattr(pa.slave, &t), 0);
	cr_assert_eq(t.c_lflag & (ECHO | ICANON | ISIG), 0,
	    "lflag 0x%x", (unsigned)t.c_lflag);
	cr_assert_eq(t.c_iflag & (ICRNL | IXON | ISTRIP), 0,
	    "iflag 0x%x", (unsigned)t.c_iflag);
	cr_assert_eq(t.c_oflag & OPOST, 0);
	cr_assert_eq(t.c_cflag & CSIZE, CS8);
	cr_assert_eq(cfgetospeed(&t), B115200);
	cr_assert_eq(cfgetispeed(&t), B115200);
	done();
}
