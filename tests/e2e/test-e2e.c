/* SPDX-License-Identifier: MIT */
/*
 * End to end with a real host: a Linux guest under QEMU (TCG) whose stock
 * ipmi_si driver and stock ipmitool / FreeIPMI talk through QEMU's
 * isa-ipmi-bt or isa-ipmi-kcs device and its ipmi-bmc-extern link to a
 * BMC on a loopback TCP port. The BMC is ipmi-brokerd with a vm bus, the
 * app and oem-example handlers and two raw handlers (one that never
 * answers, one the test SIGKILLs when its request arrives); or, as the
 * harness check and rate baseline, OpenIPMI's ipmi_sim.
 *
 * The guest (build-guest.sh: Debian packages only) runs guest-checks.sh
 * and prints "E2E name status ms hex-output" lines on its serial console
 * between E2E-BEGIN and E2E-END, then powers off. Every judgement is
 * made here, against the config files and ipmi-ctl's view of the broker.
 * While QEMU runs, the test watches the raw handlers' report pipes, so it
 * can kill one with a request in flight. Each run's console is kept as
 * console-<name>.txt in the build directory; timings, rates and what the
 * checks saw go to the test log (e2e_note()).
 *
 * Environment (meson): E2E_GUEST_DIR (where build-guest.sh puts vmlinuz
 * and initramfs.cpio.gz), E2E_QEMU, E2E_IPMI_SIM, E2E_BUSDRV_VM (empty
 * when this build has no vm driver: the broker tests skip; the daemon
 * finds the driver by itself), E2E_LOGDIR, E2E_NOTES (run-e2e.sh), and
 * the IPMI_* of itest.h.
 */
#include <criterion/criterion.h>

#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "itest.h"

static void	e2e_note(const char *, ...)
		    __attribute__((format(printf, 1, 2)));

#define E2E_BUILD_MS		600000	/* the guest, from the downloads on */
#define E2E_RUN_MS		300000	/* boot to power-off, hard bound */
#define E2E_STALL_MAX_MS	3900	/* the broker beats QEMU's 4 s */
#define E2E_RATE_N		2000	/* requests per rate run */
#define E2E_RESULTS_MAX		32
#define E2E_BUS_CHANNEL		15

struct e2e_result {
	char	 name[48];
	int	 rc;
	long	 ms;
	char	*out;			/* decoded output, NUL-terminated */
};

/* One guest boot: what the host watched and what the console said. */
struct e2e_guest {
	const char		*iface;		/* "bt" or "kcs" */
	const char		*tag;		/* run name, for files */
	char			 console[PATH_MAX];
	int			 status;	/* QEMU's exit, -1 timed out */
	long			 wall_ms;
	long			 init_ms;	/* guest uptime at /init */
	long			 ipmi0_ms;	/* ... with /dev/ipmi0 */
	long			 end_ms;
	bool			 begun;
	bool			 ended;
	struct e2e_result	 res[E2E_RESULTS_MAX];
	size_t			 nres;
	struct rawh_child	*doomed;	/* SIGKILLed at its request */
	bool			 killed;
	struct rawh_child	*staller;	/* never answers */
	int			 stalled;
};

/*
 * A fact for the test log: appended to $E2E_NOTES, which run-e2e.sh turns
 * into TAP comments after criterion's report (with --tap, criterion keeps
 * a test's own output and its info messages out of the report); and a
 * criterion info message for runs without --tap.
 */
static void
e2e_note(const char *fmt, ...)
{
	const char	*path = getenv("E2E_NOTES");
	char		 line[1024];
	va_list		 ap;
	FILE		*f;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	cr_log_info("%s", line);
	if (path != NULL && (f = fopen(path, "a")) != NULL) {
		fprintf(f, "%s\n", line);
		fclose(f);
	}
}

static struct itest_env		env;
static struct e2e_guest		guest;
static struct itest_run		run;
static pid_t			sim_pid = -1;
static struct rawh_child	staller = { -1, -1, -1 };
static struct rawh_child	doomed = { -1, -1, -1 };

static void
teardown(void)
{
	size_t	i;

	for (i = 0; i < guest.nres; i++)
		free(guest.res[i].out);
	memset(&guest, 0, sizeof(guest));
	if (sim_pid > 0)
		(void)itest_stop_pid(sim_pid, 3000);
	sim_pid = -1;
	if (staller.pid > 0 || staller.rfd >= 0)
		rawh_child_stop(&staller);
	if (doomed.pid > 0 || doomed.rfd >= 0)
		rawh_child_stop(&doomed);
	itest_env_cleanup(&env);
}

TestSuite(e2e, .fini = teardown, .timeout = 420);

/* ---- host-side plumbing ---- */

static const char *
e2e_env(const char *name)
{
	const char	*v = getenv(name);

	return v != NULL && v[0] != '\0' ? v : NULL;
}

/* A loopback TCP port nobody listens on (the kernel's pick). */
static int
e2e_free_port(void)
{
	struct sockaddr_in	sin = { .sin_family = AF_INET };
	socklen_t		len = sizeof(sin);
	int			fd, port = -1;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sin, &len) == 0)
		port = ntohs(sin.sin_port);
	close(fd);
	return port;
}

/*
 * Wait until something listens on 127.0.0.1:port, read from
 * /proc/net/tcp so that no probe connection reaches the BMC (it would
 * take it for QEMU). QEMU retries only every 10 s, so it must find the
 * listener at once.
 */
static int
e2e_wait_listen(int port, int timeout_ms)
{
	int64_t		 end = itest_now_ms() + timeout_ms;
	char		 want[32], *tcp, *p;

	snprintf(want, sizeof(want), "0100007F:%04X 00000000:0000 0A", port);
	for (;;) {
		if ((tcp = itest_read_file("/proc/net/tcp")) != NULL) {
			p = strstr(tcp, want);
			free(tcp);
			if (p != NULL)
				return 0;
		}
		if (itest_now_ms() >= end)
			return -1;
		itest_pause_ms(20);
	}
}

static int
e2e_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Decode hex into a new NUL-terminated string; NULL on a bad digit. */
static char *
e2e_unhex(const char *hex, size_t n)
{
	char	*s;
	size_t	 i;
	int	 hi, lo;

	if (n % 2 != 0 || (s = malloc(n / 2 + 1)) == NULL)
		return NULL;
	for (i = 0; i < n / 2; i++) {
		hi = e2e_hexval(hex[2 * i]);
		lo = e2e_hexval(hex[2 * i + 1]);
		if (hi < 0 || lo < 0) {
			free(s);
			return NULL;
		}
		s[i] = (char)(hi << 4 | lo);
	}
	s[n / 2] = '\0';
	return s;
}

/* One console line (no CR/LF). Lines outside BEGIN..END are ignored. */
static void
e2e_console_line(struct e2e_guest *g, char *line)
{
	struct e2e_result	*r;
	char			 name[48];
	int			 rc, off = 0;
	long			 ms, a;

	/* The firmware's screen control codes may precede the first one. */
	if ((line = strstr(line, "E2E")) == NULL)
		return;
	if (strcmp(line, "E2E-BEGIN") == 0) {
		g->begun = true;
		return;
	}
	if (!g->begun || g->ended)
		return;
	if (sscanf(line, "E2E-INIT %ld", &a) == 1)
		g->init_ms = a;
	else if (sscanf(line, "E2E-IPMI0 %ld", &a) == 1)
		g->ipmi0_ms = a;
	else if (sscanf(line, "E2E-END %ld", &a) == 1) {
		g->end_ms = a;
		g->ended = true;
	} else if (sscanf(line, "E2E %47s %d %ld %n", name, &rc, &ms,
	    &off) == 3 && off > 0 && g->nres < E2E_RESULTS_MAX) {
		r = &g->res[g->nres];
		if ((r->out = e2e_unhex(line + off, strlen(line + off))) ==
		    NULL)
			return;	/* garbled: the check finds it missing */
		snprintf(r->name, sizeof(r->name), "%s", name);
		r->rc = rc;
		r->ms = ms;
		g->nres++;
	}
}

static void
e2e_parse_console(struct e2e_guest *g)
{
	char	*text, *line, *save = NULL, *cr;

	if ((text = itest_read_file(g->console)) == NULL)
		return;
	for (line = strtok_r(text, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		while ((cr = strchr(line, '\r')) != NULL)
			memmove(cr, cr + 1, strlen(cr));
		e2e_console_line(g, line);
	}
	free(text);
}

/* Keep the console where a developer finds it after the run. */
static void
e2e_keep_console(const struct e2e_guest *g)
{
	const char	*dir = e2e_env("E2E_LOGDIR");
	char		 path[PATH_MAX], *text;

	if (dir == NULL || (text = itest_read_file(g->console)) == NULL)
		return;
	snprintf(path, sizeof(path), "%s/console-%s.txt", dir, g->tag);
	(void)itest_write_file(path, text);
	free(text);
}

/* A report line from a raw handler child; false at EOF. */
static bool
e2e_watch_child(struct e2e_guest *g, struct rawh_child *c)
{
	char	line[128];

	if (rawh_child_line(c, line, sizeof(line), 1000) < 0)
		return false;
	if (strncmp(line, "req ", 4) != 0)
		return true;
	if (c == g->doomed && !g->killed) {
		/* Its request is in flight now: the handler dies with it. */
		(void)kill(c->pid, SIGKILL);
		g->killed = true;
		return false;
	}
	if (c == g->staller)
		g->stalled++;
	return true;
}

/*
 * Build the guest (or find it up to date) in E2E_GUEST_DIR with
 * build-guest.sh; the first build downloads about 80 MB of packages.
 */
static void
e2e_guest_ready(void)
{
	static bool	 ready;
	const char	*dir = e2e_env("E2E_GUEST_DIR");
	const char	*src = e2e_env("IPMI_SRCDIR");
	char		 script[PATH_MAX], log[PATH_MAX], *text;
	const char	*last;
	size_t		 n;
	char		*argv[] = { "/bin/sh", script, (char *)dir, NULL };
	int64_t		 start = itest_now_ms();
	pid_t		 pid;
	int		 rc;

	if (ready)
		return;
	cr_assert(dir != NULL && src != NULL,
	    "E2E_GUEST_DIR or IPMI_SRCDIR is not set");
	snprintf(script, sizeof(script), "%s/tests/e2e/build-guest.sh", src);
	snprintf(log, sizeof(log), "%s/build-guest.log", dir);
	(void)unlink(log);
	cr_assert((pid = itest_spawn(log, argv, NULL)) > 0);
	rc = itest_wait_pid(pid, E2E_BUILD_MS);
	if (rc != 0) {
		(void)kill(-pid, SIGKILL);
		text = itest_read_file(log);
		cr_assert_fail("build-guest.sh exit %d:\n%s", rc,
		    text != NULL ? text : "(no log)");
	}
	/* Its last line sums up a build; an up-to-date guest prints none. */
	text = itest_read_file(log);
	last = "";
	if (text != NULL) {
		while ((n = strlen(text)) > 0 && text[n - 1] == '\n')
			text[n - 1] = '\0';
		last = strrchr(text, '\n') != NULL ? strrchr(text, '\n') + 1 :
		    text;
	}
	e2e_note("guest ready in %ld ms%s%s", (long)(itest_now_ms() - start),
	    *last != '\0' ? ": " : "", last);
	free(text);
	ready = true;
}

/* QEMU's fixed arguments: the brief's machine, TCG only, no NIC (no ROM). */
static const char *const e2e_qemu_args[] = { "-M", "pc", "-m", "256",
	"-nographic", "-no-reboot", "-accel", "tcg", "-nic", "none", NULL };

/*
 * Boot the guest against the BMC on port and wait (bounded) for it to
 * power off, watching the raw handlers meanwhile.
 */
static void
e2e_boot(struct e2e_guest *g, int port)
{
	char		 kernel[PATH_MAX], initrd[PATH_MAX], append[128];
	char		 chardev[128], device[64];
	const char	*dir = e2e_env("E2E_GUEST_DIR");
	const char	*qemu = e2e_env("E2E_QEMU");
	struct pollfd	 pfd[2];
	struct rawh_child *who[2];
	char		*argv[32];
	int64_t		 start, end;
	pid_t		 pid, r;
	int		 n, status, i;

	e2e_guest_ready();
	cr_assert(qemu != NULL,
	    "qemu-system-x86_64 not found: run tools/deps.sh");
	snprintf(kernel, sizeof(kernel), "%s/vmlinuz", dir);
	snprintf(initrd, sizeof(initrd), "%s/initramfs.cpio.gz", dir);
	cr_assert(access(kernel, R_OK) == 0 && access(initrd, R_OK) == 0,
	    "no guest in %s (tests/e2e/build-guest.sh)", dir);
	snprintf(append, sizeof(append),
	    "console=ttyS0 panic=-1 quiet e2e_rate=%d", E2E_RATE_N);
	snprintf(chardev, sizeof(chardev),
	    "socket,id=ipmi0,host=127.0.0.1,port=%d,reconnect=10", port);
	snprintf(device, sizeof(device), "isa-ipmi-%s,bmc=bmc0", g->iface);
	snprintf(g->console, sizeof(g->console), "%s/console.txt", env.dir);

	argv[0] = (char *)qemu;
	n = 1;
	for (i = 0; e2e_qemu_args[i] != NULL; i++)
		argv[n++] = (char *)e2e_qemu_args[i];
	argv[n++] = "-kernel";
	argv[n++] = kernel;
	argv[n++] = "-initrd";
	argv[n++] = initrd;
	argv[n++] = "-append";
	argv[n++] = append;
	argv[n++] = "-chardev";
	argv[n++] = chardev;
	argv[n++] = "-device";
	argv[n++] = "ipmi-bmc-extern,id=bmc0,chardev=ipmi0";
	argv[n++] = "-device";
	argv[n++] = device;
	argv[n] = NULL;

	start = itest_now_ms();
	end = start + E2E_RUN_MS;
	pid = itest_spawn(g->console, argv, NULL);
	cr_assert(pid > 0, "cannot start %s", qemu);
	g->status = -1;
	for (;;) {
		n = 0;
		if (g->doomed != NULL && g->doomed->rfd >= 0) {
			who[n] = g->doomed;
			pfd[n++] = (struct pollfd){ g->doomed->rfd, POLLIN, 0 };
		}
		if (g->staller != NULL && g->staller->rfd >= 0) {
			who[n] = g->staller;
			pfd[n++] = (struct pollfd){ g->staller->rfd, POLLIN,
			    0 };
		}
		/* A child that reported its last line is watched no more. */
		if (poll(pfd, (nfds_t)n, 50) > 0)
			for (i = 0; i < n; i++)
				if (pfd[i].revents != 0 &&
				    !e2e_watch_child(g, who[i])) {
					if (who[i] == g->staller)
						g->staller = NULL;
					else
						g->doomed = NULL;
				}
		r = waitpid(pid, &status, WNOHANG);
		if (r == pid) {
			g->status = WIFEXITED(status) ? WEXITSTATUS(status) :
			    128 + WTERMSIG(status);
			break;
		}
		if (itest_now_ms() >= end) {
			(void)kill(-pid, SIGKILL);
			(void)itest_wait_pid(pid, 5000);
			break;
		}
	}
	g->wall_ms = (long)(itest_now_ms() - start);
	e2e_parse_console(g);
	e2e_keep_console(g);
	e2e_note("%s: QEMU exit %d after %ld ms; guest /init at %ld ms, "
	    "/dev/ipmi0 at %ld ms, done at %ld ms (guest uptime)", g->tag,
	    g->status, g->wall_ms, g->init_ms, g->ipmi0_ms, g->end_ms);
	cr_assert(g->ended, "%s: the guest did not finish its checks "
	    "(QEMU exit %d, console %s)", g->tag, g->status, g->console);
	cr_assert_eq(g->status, 0, "%s: QEMU exit %d", g->tag, g->status);
}

/* The result of check name; fails the test when the guest never ran it. */
static const struct e2e_result *
e2e_res(const struct e2e_guest *g, const char *name)
{
	size_t	i;

	for (i = 0; i < g->nres; i++)
		if (strcmp(g->res[i].name, name) == 0)
			return &g->res[i];
	cr_assert_fail("%s: no result for check %s (console-%s.txt)", g->tag,
	    name, g->tag);
	return NULL;
}

/* The value after "label  :" in ipmitool's mc info, trimmed. */
static int
e2e_field(const char *out, const char *label, char *val, size_t len)
{
	char	line[256], *p, *e;

	if (itest_line_with(out, label, ":", line, sizeof(line)) < 0 ||
	    strncmp(line, label, strlen(label)) != 0 ||
	    (p = strchr(line, ':')) == NULL)
		return -1;
	for (p++; *p == ' '; p++)
		;
	for (e = p + strlen(p); e > p && isspace((unsigned char)e[-1]); e--)
		;
	*e = '\0';
	snprintf(val, len, "%s", p);
	return 0;
}

/* " xx xx ...\n" as ipmitool raw prints an answer. */
static void
e2e_raw_text(const uint8_t *d, size_t n, char *buf, size_t len)
{
	size_t	i, o = 0;

	buf[0] = '\0';
	for (i = 0; i < n && o + 4 < len; i++)
		o += (size_t)snprintf(buf + o, len - o, " %02x", d[i]);
	snprintf(buf + o, len - o, "\n");
}

/* Lines of the kernel log from the IPMI drivers that report trouble. */
static void
e2e_assert_dmesg_clean(const struct e2e_guest *g, const char *check)
{
	const struct e2e_result	*r = e2e_res(g, check);
	char			 line[512], low[512];
	const char		*s = r->out, *eol;
	size_t			 n, i;
	char			 want[64];

	for (; *s != '\0'; s = eol + (*eol != '\0')) {
		eol = strchr(s, '\n');
		if (eol == NULL)
			eol = s + strlen(s);
		n = (size_t)(eol - s) < sizeof(line) - 1 ?
		    (size_t)(eol - s) : sizeof(line) - 1;
		memcpy(line, s, n);
		line[n] = '\0';
		for (i = 0; i <= n; i++)
			low[i] = (char)tolower((unsigned char)line[i]);
		if (strstr(low, "ipmi") == NULL)
			continue;
		cr_assert(strstr(low, "error") == NULL &&
		    strstr(low, "fail") == NULL &&
		    strstr(low, "timeout") == NULL &&
		    strstr(low, "timed out") == NULL,
		    "%s: the IPMI driver complained: %s", g->tag, line);
	}
	snprintf(want, sizeof(want), "IPMI %s interface initialized",
	    g->iface);
	cr_assert(strstr(r->out, want) != NULL, "%s: no '%s' in:\n%s",
	    g->tag, want, r->out);
	if (strcmp(check, "dmesg-ipmi") == 0 &&
	    itest_line_with(r->out, "Found new BMC", NULL, line,
	    sizeof(line)) == 0)
		e2e_note("%s: dmesg clean; %s", g->tag, line);
}

/* A rate run: 2000 requests from one process; returns req/s. */
static double
e2e_rate(const struct e2e_guest *g, const char *check)
{
	const struct e2e_result	*r = e2e_res(g, check);
	double			 rate;

	cr_assert_eq(r->rc, 0, "%s %s: exit %d: %s", g->tag, check, r->rc,
	    r->out);
	cr_assert_eq(atoi(r->out), E2E_RATE_N, "%s %s printed %d lines",
	    g->tag, check, atoi(r->out));
	rate = r->ms > 0 ? E2E_RATE_N * 1000.0 / (double)r->ms : 0;
	e2e_note("%s %s: %d requests in %ld ms = %.0f req/s", g->tag, check,
	    E2E_RATE_N, r->ms, rate);
	return rate;
}

/*
 * How many interrupts the guest's IPMI driver took (the IRQ column sums of
 * its /proc/interrupts line). Logged, not judged: a BMC may leave the
 * host polling, but under TCG that costs some 10 ms per request.
 */
static long
e2e_irqs(const struct e2e_guest *g)
{
	const struct e2e_result	*r = e2e_res(g, "irq");
	const char		*p;
	char			*end;
	long			 sum = 0, v;

	if (r->rc != 0 || (p = strchr(r->out, ':')) == NULL)
		return -1;
	for (p++;; p = end) {
		v = strtol(p, &end, 10);
		if (end == p)
			break;
		sum += v;
	}
	e2e_note("%s: the guest's IPMI driver took %ld interrupts%s",
	    g->tag, sum, sum == 0 ? " (the BMC never sent ENABLE_IRQ: the "
	    "driver polled)" : "");
	return sum;
}

/* What every BMC must show the guest: the driver is up and clean. */
static void
e2e_assert_driver(const struct e2e_guest *g)
{
	const struct e2e_result	*r = e2e_res(g, "dev-ipmi0");

	cr_assert_eq(r->rc, 0, "%s: /dev/ipmi0: %s", g->tag, r->out);
	cr_assert(r->out[0] == 'c', "%s: /dev/ipmi0 is no character device: "
	    "%s", g->tag, r->out);
	e2e_assert_dmesg_clean(g, "dmesg-ipmi");
	e2e_assert_dmesg_clean(g, "dmesg-end");
	(void)e2e_irqs(g);
}

/* ---- the broker side ---- */

/* A "key = value" of conf/<file> (first match, comments skipped). */
static int
e2e_conf_value(const char *file, const char *key, char *val, size_t len)
{
	char		 path[PATH_MAX], line[256], k[64], v[128];
	const char	*src = e2e_env("IPMI_SRCDIR");
	FILE		*f;
	int		 found = -1;

	if (src == NULL)
		return -1;
	snprintf(path, sizeof(path), "%s/conf/%s", src, file);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (found < 0 && fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, " %63[^ =;#] = %127[^ ;#\n]", k, v) == 2 &&
		    strcmp(k, key) == 0) {
			snprintf(val, len, "%s", v);
			found = 0;
		}
	fclose(f);
	return found;
}

static void
e2e_start_broker(int port)
{
	cr_assert_eq(itest_env_init(&env), 0, "temp dir");
	cr_assert_eq(itest_write_config(&env,
	    "[bus host]\ndriver = vm\ndevice = 127.0.0.1:%d\n"
	    "channel = 0x%02x\n", port, E2E_BUS_CHANNEL), 0);
	cr_assert_eq(itest_daemon_start(&env, 10000), 0,
	    "daemon did not answer on %s (log %s)", env.csock, env.log);
	cr_assert_eq(e2e_wait_listen(port, 10000), 0,
	    "nothing listens on 127.0.0.1:%d (log %s)", port, env.log);
}

/* Start the handlers and wait until ipmi-ctl list shows each. */
static void
e2e_start_handlers(void)
{
	static const char	*names[] = { "\"app\"", "\"oem-example\"",
				    "\"staller\"", "\"doomed\"" };
	Hnd__Key		 kstall = rawh_key(0x30, false, 0x02);
	Hnd__Key		 kdoom = rawh_key(0x30, false, 0x03);
	char			 line[64];
	int64_t			 end;
	size_t			 i;
	bool			 all;

	cr_assert(itest_handler_start(&env, "IPMI_HANDLER_APP",
	    "app-handler.conf", "app") > 0);
	cr_assert(itest_handler_start(&env, "IPMI_HANDLER_OEM",
	    "oem-example.conf", "oem") > 0);
	cr_assert_eq(rawh_child_start(&staller, env.hsock, "staller",
	    &kstall, 1, true, 0, NULL, 0), 0);
	cr_assert_eq(rawh_child_start(&doomed, env.hsock, "doomed", &kdoom, 1,
	    true, 0, NULL, 0), 0);
	cr_assert_eq(rawh_child_line(&staller, line, sizeof(line), 5000), 0);
	cr_assert(strncmp(line, "ok", 2) == 0, "staller: %s", line);
	cr_assert_eq(rawh_child_line(&doomed, line, sizeof(line), 5000), 0);
	cr_assert(strncmp(line, "ok", 2) == 0, "doomed: %s", line);
	end = itest_now_ms() + 10000;
	do {
		cr_assert_eq(itest_ctl(&env, &run, 10000, "--json", "list",
		    NULL), 0, "ipmi-ctl list: %s", run.err);
		all = true;
		for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			if (strstr(run.out, names[i]) == NULL)
				all = false;
		if (!all)
			itest_pause_ms(50);
	} while (!all && itest_now_ms() < end);
	cr_assert(all, "not every handler registered:\n%s", run.out);
}

static uint64_t
e2e_counter(const char *name)
{
	uint64_t	v = 0;

	cr_assert_eq(itest_counter(&env, name, &v), 0,
	    "no counter %s in ipmi-ctl --json stats", name);
	return v;
}

/* Set the bits of a bitmap of 256 commands. */
static void
e2e_bits_set(uint8_t bits[32], int any, unsigned int cmd)
{
	if (any)
		memset(bits, 0xff, 32);
	else if (cmd < 256)
		bits[cmd / 8] |= (uint8_t)(1U << (cmd % 8));
}

static size_t
e2e_bits_text(char *buf, size_t len, const char *head, const uint8_t *b)
{
	size_t	o, i;

	o = (size_t)snprintf(buf, len, "%s", head);
	for (i = 0; i < 32 && o < len; i++)
		o += (size_t)snprintf(buf + o, len - o, "%02x%s", b[i],
		    i % 4 == 3 ? " " : "");
	if (o < len)
		o += (size_t)snprintf(buf + o, len - o, "\n");
	return o;
}

/*
 * What `ipmitool firewall info` prints when the BMC serves exactly the
 * registrations ipmi-ctl list --json shows (as visible on the bus
 * channel), plus the four App commands the broker answers itself: per
 * LUN and netfn with something registered, the supported, configurable
 * (nothing) and enabled (what is supported) command bitmaps. OEM and
 * group netfns show no commands: without their IANA / body code a query
 * cannot name any.
 */
static void
e2e_firewall_expect(const char *list, char *buf, size_t len)
{
	static uint8_t	 bits[4][32][32];
	static const uint8_t builtins[] = { 0x09, 0x0a, 0x0c, 0x61 };
	static const uint8_t none[32];
	bool		 present[4][32];
	uint8_t		 luns[8], chans[32];
	size_t		 nl, nc, i, j, o = 0;
	uint64_t	 netfn, cmd, key;
	const char	*s, *eol;
	char		 rec[1024], head[32];
	int		 any, keyed, lun, visible;

	memset(bits, 0, sizeof(bits));
	memset(present, 0, sizeof(present));
	for (s = list; (s = strchr(s, '{')) != NULL; s = eol) {
		eol = strchr(s, '}');
		cr_assert(eol != NULL && (size_t)(eol - s) < sizeof(rec),
		    "odd list --json record");
		memcpy(rec, s, (size_t)(eol - s));
		rec[eol - s] = '\0';
		cr_assert_eq(itest_json_u64(rec, "netfn", &netfn), 0, "%s",
		    rec);
		any = itest_json_u64(rec, "cmd", &cmd) != 0;
		keyed = itest_json_u64(rec, "iana", &key) == 0 ||
		    itest_json_u64(rec, "body", &key) == 0;
		cr_assert_eq(itest_json_bytes(rec, "luns", luns, sizeof(luns),
		    &nl), 0, "%s", rec);
		cr_assert_eq(itest_json_bytes(rec, "channels", chans,
		    sizeof(chans), &nc), 0, "%s", rec);
		for (visible = 0, j = 0; j < nc; j++)
			if (chans[j] == E2E_BUS_CHANNEL)
				visible = 1;
		if (!visible || netfn > 0x3f)
			continue;
		for (i = 0; i < nl; i++) {
			if (luns[i] > 3)
				continue;
			present[luns[i]][netfn / 2] = true;
			if (!keyed)
				e2e_bits_set(bits[luns[i]][netfn / 2], any,
				    (unsigned int)cmd);
		}
	}
	present[0][0x06 / 2] = true;
	for (i = 0; i < sizeof(builtins); i++)
		e2e_bits_set(bits[0][0x06 / 2], 0, builtins[i]);
	buf[0] = '\0';
	for (lun = 0; lun < 4; lun++)
		for (j = 0; j < 32; j++) {
			if (!present[lun][j])
				continue;
			snprintf(head, sizeof(head), "%02x,%02x support:      ",
			    lun, (unsigned int)j * 2);
			o += e2e_bits_text(buf + o, len - o, head,
			    bits[lun][j]);
			snprintf(head, sizeof(head), "%02x,%02x configurable: ",
			    lun, (unsigned int)j * 2);
			o += e2e_bits_text(buf + o, len - o, head, none);
			snprintf(head, sizeof(head), "%02x,%02x enabled:      ",
			    lun, (unsigned int)j * 2);
			o += e2e_bits_text(buf + o, len - o, head,
			    bits[lun][j]);
			cr_assert(o < len, "firewall listing too long");
		}
}

/* mc info shows the identity conf/app-handler.conf sets. */
static void
e2e_assert_mc_info(const struct e2e_guest *g)
{
	const struct e2e_result	*r = e2e_res(g, "mc-info");
	char			 conf[128], got[128], want[160];

	cr_assert_eq(r->rc, 0, "%s mc info: exit %d: %s", g->tag, r->rc,
	    r->out);
	cr_assert_eq(e2e_conf_value("app-handler.conf", "device_id", conf,
	    sizeof(conf)), 0, "no device_id in app-handler.conf");
	snprintf(want, sizeof(want), "%lu", strtoul(conf, NULL, 0));
	cr_assert_eq(e2e_field(r->out, "Device ID", got, sizeof(got)), 0,
	    "%s", r->out);
	cr_assert_str_eq(got, want, "%s: Device ID %s, config %s", g->tag,
	    got, conf);
	cr_assert_eq(e2e_conf_value("app-handler.conf", "firmware", conf,
	    sizeof(conf)), 0, "no firmware in app-handler.conf");
	cr_assert_eq(e2e_field(r->out, "Firmware Revision", got,
	    sizeof(got)), 0, "%s", r->out);
	cr_assert_str_eq(got, conf, "%s: Firmware Revision %s, config %s",
	    g->tag, got, conf);
	cr_assert_eq(e2e_conf_value("app-handler.conf", "manufacturer_id",
	    conf, sizeof(conf)), 0, "no manufacturer_id in app-handler.conf");
	snprintf(want, sizeof(want), "%lu", strtoul(conf, NULL, 0));
	cr_assert_eq(e2e_field(r->out, "Manufacturer ID", got, sizeof(got)),
	    0, "%s", r->out);
	cr_assert_str_eq(got, want, "%s: Manufacturer ID %s, config %s",
	    g->tag, got, conf);
	e2e_note("%s mc info: Device ID, Firmware Revision and "
	    "Manufacturer ID as in app-handler.conf", g->tag);
}

/* The raw answers: registered, OEM echo, unregistered, FreeIPMI. */
static void
e2e_assert_raw(const struct e2e_guest *g, const uint8_t *devid, size_t n)
{
	const struct e2e_result	*r;
	char			 want[256], up[256];
	size_t			 i;

	e2e_raw_text(devid, n, want, sizeof(want));
	r = e2e_res(g, "raw-get-device-id");
	cr_assert_eq(r->rc, 0, "%s raw 6 1: %s", g->tag, r->out);
	cr_assert_str_eq(r->out, want, "%s raw 6 1: got '%s', ipmi-ctl got "
	    "'%s'", g->tag, r->out, want);
	r = e2e_res(g, "freeipmi-get-device-id");
	snprintf(up, sizeof(up), "rcvd: 01 00");
	for (i = 0; i < n; i++)
		snprintf(up + strlen(up), sizeof(up) - strlen(up), " %02X",
		    devid[i]);
	cr_assert_eq(r->rc, 0, "%s ipmi-raw: %s", g->tag, r->out);
	cr_assert(strncmp(r->out, up, strlen(up)) == 0,
	    "%s ipmi-raw: got '%s', want '%s'", g->tag, r->out, up);
	r = e2e_res(g, "raw-oem-echo");
	cr_assert_eq(r->rc, 0, "%s raw 0x2e echo: %s", g->tag, r->out);
	cr_assert_str_eq(r->out, " d9 7e 00 aa\n", "%s raw 0x2e echo: '%s'",
	    g->tag, r->out);
	r = e2e_res(g, "raw-unregistered");
	cr_assert_neq(r->rc, 0, "%s raw 0x30 0x01 succeeded: %s", g->tag,
	    r->out);
	cr_assert(strstr(r->out, "rsp=0xc1") != NULL,
	    "%s raw 0x30 0x01 (unregistered): %s", g->tag, r->out);
	e2e_note("%s raw: 6 1 ->%.*s; 0x2e echo -> d9 7e 00 aa; 0x30 0x01 "
	    "-> 0xc1", g->tag, (int)strlen(want) - 1, want);
}

static void
e2e_broker(const char *iface, const char *tag)
{
	const struct e2e_result	*r;
	uint8_t			 devid[64];
	size_t			 n;
	unsigned int		 cc;
	uint64_t		 timeouts, gone, reqs;
	static char		 fw[65536];
	int			 port;

	guest.iface = iface;
	guest.tag = tag;
	if (e2e_env("E2E_BUSDRV_VM") == NULL)
		cr_skip_test("no vm bus driver (bus-drivers/vm.c) in this "
		    "build yet");
	cr_assert((port = e2e_free_port()) > 0);
	e2e_start_broker(port);
	e2e_start_handlers();
	cr_assert_eq(itest_send_json(&env, &run, &cc, devid, &n, "6", "1",
	    NULL), 0, "ipmi-ctl send 6 1: %s %s", run.out, run.err);
	cr_assert_eq(cc, 0, "Get Device ID through ipmi-ctl: cc 0x%02x", cc);
	timeouts = e2e_counter("fallback.timeout");
	gone = e2e_counter("fallback.disconnected");
	reqs = e2e_counter("requests");

	guest.staller = &staller;
	guest.doomed = &doomed;
	e2e_boot(&guest, port);

	e2e_assert_driver(&guest);
	/* The App handler turns the guest's receive-interrupt enable into
	 * ENABLE_IRQ on the vm bus, so the stock driver is interrupt
	 * driven, not polling. */
	cr_assert_gt(e2e_irqs(&guest), 0, "%s: the guest's IPMI driver took "
	    "no interrupts", tag);
	e2e_assert_mc_info(&guest);
	e2e_assert_raw(&guest, devid, n);

	r = e2e_res(&guest, "raw-stall");
	cr_assert(strstr(r->out, "rsp=0xc3") != NULL,
	    "%s stalled 0x30 0x02: %s", tag, r->out);
	cr_assert(r->ms < E2E_STALL_MAX_MS, "%s: 0xC3 after %ld ms", tag,
	    r->ms);
	cr_assert_geq(guest.stalled, 1, "%s: the staller never got 0x30 0x02",
	    tag);
	cr_assert_eq(e2e_counter("fallback.timeout"), timeouts + 1,
	    "%s: fallback.timeout did not count the stall", tag);
	e2e_note("%s raw 0x30 0x02 (stalling handler): 0xc3, ipmitool ran "
	    "%ld ms (%ld ms more than for 0x30 0x01)", tag, r->ms,
	    r->ms - e2e_res(&guest, "raw-unregistered")->ms);

	r = e2e_res(&guest, "raw-killed");
	cr_assert(guest.killed, "%s: the doomed handler never got 0x30 0x03",
	    tag);
	cr_assert(strstr(r->out, "rsp=0xce") != NULL,
	    "%s 0x30 0x03 (handler killed): %s", tag, r->out);
	cr_assert_eq(e2e_counter("fallback.disconnected"), gone + 1);
	e2e_note("%s raw 0x30 0x03 (handler killed mid-request): 0xce "
	    "after %ld ms", tag, r->ms);

	/* The table as it stood during firewall info: doomed was gone. */
	r = e2e_res(&guest, "firewall-info");
	cr_assert_eq(itest_ctl(&env, &run, 10000, "--json", "list", NULL), 0);
	e2e_firewall_expect(run.out, fw, sizeof(fw));
	cr_assert_eq(r->rc, 0, "%s firewall info: %s", tag, r->out);
	cr_assert_str_eq(r->out, fw, "%s firewall info:\n%s\nregistered:\n%s",
	    tag, r->out, fw);
	e2e_note("%s firewall info: %d LUN/netfn pairs, as registered",
	    tag, itest_count(r->out, "support:"));

	/* TODO(trace): the trace capture check hooks in here. */

	e2e_rate(&guest, "rate-ipmitool-exec");
	e2e_rate(&guest, "rate-freeipmi-raw");
	cr_assert_geq(e2e_counter("requests"), reqs + 2 * E2E_RATE_N);

	cr_assert_eq(itest_daemon_stop(&env, 5000), 0,
	    "the daemon did not exit 0 on SIGTERM (log %s)", env.log);
	ITEST_ASSERT_LOGS_CLEAN(&env);
}

Test(e2e, bt_guest_sees_the_broker_through_the_stock_linux_driver)
{
	e2e_broker("bt", "broker-bt");
}

Test(e2e, kcs_guest_sees_the_broker_through_the_stock_linux_driver)
{
	e2e_broker("kcs", "broker-kcs");
}

/* ---- ipmi_sim: the harness check and the rate baseline ---- */

static void
e2e_sim(const char *iface, const char *tag)
{
	static const uint8_t	 devid[] = { 0x00, 0x03, 0x09, 0x08, 0x02,
				    0x9f, 0x91, 0x12, 0x00, 0x02, 0x0f, 0x00,
				    0x00, 0x00, 0x00 };
	const char		*sim = e2e_env("E2E_IPMI_SIM");
	const char		*src = e2e_env("IPMI_SRCDIR");
	const struct e2e_result	*r;
	char			 lan[PATH_MAX], emu[PATH_MAX], state[PATH_MAX];
	char			 log[PATH_MAX], text[256], want[128], got[64];
	char			*argv[10];
	int			 port;

	guest.iface = iface;
	guest.tag = tag;
	cr_assert(sim != NULL, "ipmi_sim not found: run tools/deps.sh");
	cr_assert(src != NULL);
	cr_assert((port = e2e_free_port()) > 0);
	cr_assert_eq(itest_env_init(&env), 0, "temp dir");
	snprintf(lan, sizeof(lan), "%s/lan.conf", env.dir);
	snprintf(emu, sizeof(emu), "%s/tests/e2e/ipmi-sim.emu", src);
	snprintf(state, sizeof(state), "%s/sim-state", env.dir);
	snprintf(log, sizeof(log), "%s/ipmi-sim.log", env.dir);
	/* Channel 15, the system interface, on QEMU's VM codec. */
	snprintf(text, sizeof(text), "name \"e2e\"\nset_working_mc 0x20\n"
	    "  serial 15 127.0.0.1 %d codec VM\n", port);
	cr_assert_eq(itest_write_file(lan, text), 0);

	argv[0] = (char *)sim;
	argv[1] = "-c";
	argv[2] = lan;
	argv[3] = "-f";
	argv[4] = emu;
	argv[5] = "-s";
	argv[6] = state;
	argv[7] = "-n";		/* no console on stdio */
	argv[8] = "-p";		/* no persistent state */
	argv[9] = NULL;
	cr_assert((sim_pid = itest_spawn(log, argv, NULL)) > 0);
	cr_assert_eq(e2e_wait_listen(port, 10000), 0,
	    "ipmi_sim does not listen on %d (log %s)", port, log);
	e2e_boot(&guest, port);

	e2e_assert_driver(&guest);
	r = e2e_res(&guest, "mc-info");
	cr_assert_eq(r->rc, 0, "%s mc info: %s", tag, r->out);
	cr_assert_eq(e2e_field(r->out, "Manufacturer ID", got, sizeof(got)),
	    0, "%s", r->out);
	cr_assert_str_eq(got, "4753", "%s", r->out);
	cr_assert_eq(e2e_field(r->out, "Firmware Revision", got, sizeof(got)),
	    0, "%s", r->out);
	cr_assert_str_eq(got, "9.08", "%s", r->out);
	r = e2e_res(&guest, "raw-get-device-id");
	e2e_raw_text(devid, sizeof(devid), want, sizeof(want));
	cr_assert_eq(r->rc, 0, "%s raw 6 1: %s", tag, r->out);
	cr_assert_str_eq(r->out, want, "%s raw 6 1", tag);
	r = e2e_res(&guest, "raw-unregistered");
	cr_assert(r->rc != 0 && strstr(r->out, "rsp=0x") != NULL,
	    "%s raw 0x30 0x01: %s", tag, r->out);
	e2e_rate(&guest, "rate-ipmitool-exec");
	e2e_rate(&guest, "rate-freeipmi-raw");
	cr_assert_neq(itest_stop_pid(sim_pid, 3000), -1, "ipmi_sim ignored "
	    "SIGTERM (log %s)", log);
	sim_pid = -1;
}

Test(e2e, bt_guest_sees_ipmi_sim_the_harness_baseline)
{
	e2e_sim("bt", "ipmi-sim-bt");
}

Test(e2e, kcs_guest_sees_ipmi_sim_the_harness_baseline)
{
	e2e_sim("kcs", "ipmi-sim-kcs");
}
