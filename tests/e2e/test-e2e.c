/* SPDX-License-Identifier: MIT */
/*
 * End to end with a real host: a Linux guest under QEMU (TCG) whose stock
 * ipmi_si driver and stock ipmitool / FreeIPMI talk through QEMU's
 * isa-ipmi-bt or isa-ipmi-kcs device and its ipmi-bmc-extern link to a
 * BMC on a loopback TCP port. The BMC is ipmi-brokerd with a vm bus, the
 * shipped handlers (app, oem-example, chassis, sel, sdr-fru, each on a
 * copy of its conf/ file in the test's directory) and two raw handlers
 * (one that never answers, one the test SIGKILLs when its request
 * arrives); or, as the harness check and rate baseline, OpenIPMI's
 * ipmi_sim.
 *
 * The guest (build-guest.sh: Debian packages only) runs guest-checks.sh
 * and prints "E2E name status ms hex-output" lines on its serial console
 * between E2E-BEGIN and E2E-END, then powers off. What it runs is chosen
 * on the kernel command line (e2e_mode): the ipmi_sim runs do the
 * driver, raw and rate checks; the broker runs add every shipped
 * handler's ipmitool commands, with `ipmi-ctl trace -w` capturing the
 * run for tshark up to the rates (which then run untraced, as against
 * ipmi_sim: the guest waits at a gate the test opens once the capture
 * has ended); two short runs per interface send `chassis power off` and
 * `chassis power reset` with a heartbeat running, and the test watches
 * the console and the chassis handler's log live to time the machine
 * stopping (or booting again). Every judgement is made here, against the
 * config files the handlers run with and ipmi-ctl's view of the broker.
 * While QEMU runs, the test watches the raw handlers' report pipes, so it
 * can kill one with a request in flight. Each run's console is kept as
 * console-<name>.txt in the build directory, and what each check printed,
 * decoded, as results-<name>.txt; timings, rates and what the checks saw
 * go to the test log (e2e_note()).
 *
 * Environment (meson): E2E_GUEST_DIR (where build-guest.sh puts vmlinuz
 * and initramfs.cpio.gz), E2E_QEMU, E2E_IPMI_SIM, E2E_TSHARK, E2E_BUSDRV_VM
 * (empty when this build has no vm driver: the broker tests skip; the
 * daemon finds the driver by itself), E2E_LOGDIR, E2E_NOTES (run-e2e.sh),
 * IPMI_HANDLER_CHASSIS, IPMI_HANDLER_SEL, IPMI_HANDLER_SDR_FRU,
 * IPMI_FRU_BUILD, and the IPMI_* of itest.h.
 */
#include <criterion/criterion.h>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "itest.h"

static void	e2e_note(const char *, ...)
		    __attribute__((format(printf, 1, 2)));

#define E2E_BUILD_MS		600000	/* the guest, from the downloads on */
#define E2E_RUN_MS		300000	/* boot to power-off, hard bound */
#define E2E_STALL_MAX_MS	3900	/* the broker beats QEMU's 4 s */
#define E2E_RATE_N		2000	/* requests per rate run */
#define E2E_RESULTS_MAX		96
#define E2E_BUS_CHANNEL		15
#define E2E_POWER_RUN_MS	90000	/* a power run, boot to stop */
#define E2E_STOP_MAX_MS		3000	/* power off done: QEMU gone */
#define E2E_REBOOT_MAX_MS	30000	/* reset done: booting again */
#define E2E_TRACE_MS		30000	/* tshark on a run's capture */
/* Get Device ID's additional device support with the shipped handlers:
 * sensor 0x01, SDR 0x02, SEL 0x04, FRU 0x08, chassis 0x80. */
#define E2E_SUPPORT_ALL		0x8f

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
	const char		*mode;		/* e2e_mode, guest-checks.sh */
	const char		*fru_hex;	/* e2e_fru, or NULL */
	/* Power runs: the control's check, watched live on the console,
	 * and the line the BMC logs when it acted. Times are ms since QEMU
	 * started, -1 until seen. */
	const char		*answer;
	char			 act_log[PATH_MAX];
	const char		*act_line;
	bool			 reboot;	/* no -no-reboot: reset boots */
	long			 answer_ms;	/* guest printed the answer */
	long			 act_ms;	/* the BMC logged the control */
	long			 stop_ms;	/* QEMU exit or second boot */
	bool			 stopped;	/* the test stopped QEMU */
	int			 boots;		/* E2E-INIT lines */
	int			 beats;		/* heartbeat lines */
	int			 beats_after;	/* ... after the answer line */
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
	/* Called once when the guest prints E2E-RATES. */
	void			(*on_rates)(void);
	bool			 rates_seen;
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
static pid_t			handlers[8];	/* shipped ones */
static size_t			nhandlers;
static pid_t			trace_pid = -1;	/* ipmi-ctl trace -w */
static struct rawh_child	gate = { -1, -1, -1 }; /* opens the rates */
static char			confdir[128];	/* their configs */
static char			table[ITEST_OUT_MAX]; /* list at the gate */

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
	if (gate.pid > 0 || gate.rfd >= 0)
		rawh_child_stop(&gate);
	if (trace_pid > 0)
		(void)itest_stop_pid(trace_pid, 3000);
	trace_pid = -1;
	for (i = 0; i < nhandlers; i++)
		(void)itest_stop_pid(handlers[i], 3000);
	nhandlers = 0;
	confdir[0] = '\0';
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

/* Whether the guest reported check name. */
static bool
e2e_has(const struct e2e_guest *g, const char *name)
{
	size_t	i;

	for (i = 0; i < g->nres; i++)
		if (strcmp(g->res[i].name, name) == 0)
			return true;
	return false;
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
	if (sscanf(line, "E2E-INIT %ld", &a) == 1) {
		if (g->boots++ == 0)
			g->init_ms = a;
	} else if (sscanf(line, "E2E-HB %ld", &a) == 1) {
		g->beats++;
		if (g->answer != NULL && e2e_has(g, g->answer))
			g->beats_after++;
	} else if (sscanf(line, "E2E-IPMI0 %ld", &a) == 1)
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

/*
 * Keep the console where a developer finds it after the run, and what
 * each check printed, decoded.
 */
static void
e2e_keep_console(const struct e2e_guest *g)
{
	const char	*dir = e2e_env("E2E_LOGDIR");
	char		 path[PATH_MAX], *text;
	size_t		 i;
	FILE		*f;

	if (dir == NULL || (text = itest_read_file(g->console)) == NULL)
		return;
	snprintf(path, sizeof(path), "%s/console-%s.txt", dir, g->tag);
	(void)itest_write_file(path, text);
	free(text);
	snprintf(path, sizeof(path), "%s/results-%s.txt", dir, g->tag);
	if ((f = fopen(path, "w")) == NULL)
		return;
	for (i = 0; i < g->nres; i++)
		fprintf(f, "==== %s: exit %d, %ld ms\n%s\n", g->res[i].name,
		    g->res[i].rc, g->res[i].ms, g->res[i].out);
	fclose(f);
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

/*
 * QEMU's fixed arguments: the brief's machine, TCG only, no NIC (no ROM).
 * -no-reboot is added unless the run wants to watch a reset boot again.
 */
static const char *const e2e_qemu_args[] = { "-M", "pc", "-m", "256",
	"-nographic", "-accel", "tcg", "-nic", "none", NULL };

/*
 * A power run, watched while QEMU runs: when the BMC logs the control,
 * when the guest prints the control's answer, whether it booted a second
 * time. Returns true when QEMU should be stopped: the second boot was
 * seen, or the machine still runs too long after the control.
 */
static bool
e2e_watch_power(struct e2e_guest *g, int64_t start)
{
	char	 pat[64], *text;
	long	 now = (long)(itest_now_ms() - start);
	bool	 stop = false;

	if (g->act_ms < 0 && itest_file_count(g->act_log, g->act_line) > 0)
		g->act_ms = now;
	if ((text = itest_read_file(g->console)) == NULL)
		return false;
	snprintf(pat, sizeof(pat), "E2E %s ", g->answer);
	if (g->answer_ms < 0 && strstr(text, pat) != NULL)
		g->answer_ms = now;
	if (g->reboot && itest_count(text, "E2E-INIT ") >= 2) {
		g->stop_ms = now;
		stop = true;
	} else if (g->act_ms >= 0 && now - g->act_ms >
	    (g->reboot ? E2E_REBOOT_MAX_MS : E2E_STOP_MAX_MS))
		stop = true;
	free(text);
	return stop;
}

/* The raw handlers' reports while QEMU runs (see e2e_watch_child()). */
static void
e2e_watch_children(struct e2e_guest *g)
{
	struct pollfd		 pfd[2];
	struct rawh_child	*who[2];
	int			 n = 0, i;

	if (g->doomed != NULL && g->doomed->rfd >= 0) {
		who[n] = g->doomed;
		pfd[n++] = (struct pollfd){ g->doomed->rfd, POLLIN, 0 };
	}
	if (g->staller != NULL && g->staller->rfd >= 0) {
		who[n] = g->staller;
		pfd[n++] = (struct pollfd){ g->staller->rfd, POLLIN, 0 };
	}
	/* A child that reported its last line is watched no more. */
	if (poll(pfd, (nfds_t)n, 50) <= 0)
		return;
	for (i = 0; i < n; i++)
		if (pfd[i].revents != 0 && !e2e_watch_child(g, who[i])) {
			if (who[i] == g->staller)
				g->staller = NULL;
			else
				g->doomed = NULL;
		}
}

/*
 * Boot the guest against the BMC on port and wait (bounded) for it to
 * power off, watching the raw handlers or, in a power run, the console.
 * The caller judges how it ended (e2e_assert_finished() for check runs).
 */
static void
e2e_boot(struct e2e_guest *g, int port)
{
	char		 kernel[PATH_MAX], initrd[PATH_MAX], append[1536];
	char		 chardev[128], device[64];
	const char	*dir = e2e_env("E2E_GUEST_DIR");
	const char	*qemu = e2e_env("E2E_QEMU");
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
	/* x86 kernels take 2047 bytes of command line: e2e_fru is 512. */
	n = snprintf(append, sizeof(append), "console=ttyS0 panic=-1 quiet "
	    "e2e_rate=%d e2e_mode=%s%s%s", E2E_RATE_N, g->mode,
	    g->fru_hex != NULL ? " e2e_fru=" : "",
	    g->fru_hex != NULL ? g->fru_hex : "");
	cr_assert(n > 0 && (size_t)n < sizeof(append), "command line too long");
	snprintf(chardev, sizeof(chardev),
	    "socket,id=ipmi0,host=127.0.0.1,port=%d,reconnect=10", port);
	snprintf(device, sizeof(device), "isa-ipmi-%s,bmc=bmc0", g->iface);
	snprintf(g->console, sizeof(g->console), "%s/console.txt", env.dir);

	argv[0] = (char *)qemu;
	n = 1;
	for (i = 0; e2e_qemu_args[i] != NULL; i++)
		argv[n++] = (char *)e2e_qemu_args[i];
	if (!g->reboot)
		argv[n++] = "-no-reboot";
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

	g->answer_ms = g->act_ms = g->stop_ms = -1;
	start = itest_now_ms();
	end = start + (g->answer != NULL ? E2E_POWER_RUN_MS : E2E_RUN_MS);
	pid = itest_spawn(g->console, argv, NULL);
	cr_assert(pid > 0, "cannot start %s", qemu);
	g->status = -1;
	for (;;) {
		if (g->answer != NULL)
			itest_pause_ms(20);
		else
			e2e_watch_children(g);
		if (g->on_rates != NULL && !g->rates_seen &&
		    itest_file_count(g->console, "E2E-RATES ") > 0) {
			g->rates_seen = true;
			g->on_rates();
		}
		r = waitpid(pid, &status, WNOHANG);
		if (r == pid) {
			g->status = WIFEXITED(status) ? WEXITSTATUS(status) :
			    128 + WTERMSIG(status);
			if (g->stop_ms < 0)
				g->stop_ms = (long)(itest_now_ms() - start);
			break;
		}
		if ((g->answer != NULL && e2e_watch_power(g, start)) ||
		    itest_now_ms() >= end) {
			g->stopped = true;
			(void)kill(-pid, SIGKILL);
			(void)itest_wait_pid(pid, 5000);
			break;
		}
	}
	g->wall_ms = (long)(itest_now_ms() - start);
	/* What came after the last look, came before the stop. */
	if (g->answer != NULL && !g->stopped) {
		(void)e2e_watch_power(g, start);
		if (g->act_ms > g->stop_ms)
			g->act_ms = g->stop_ms;
		if (g->answer_ms > g->stop_ms)
			g->answer_ms = g->stop_ms;
	}
	e2e_parse_console(g);
	e2e_keep_console(g);
	if (g->stopped)
		e2e_note("%s: QEMU stopped by the test after %ld ms; guest "
		    "/init at %ld ms, /dev/ipmi0 at %ld ms (guest uptime)",
		    g->tag, g->wall_ms, g->init_ms, g->ipmi0_ms);
	else
		e2e_note("%s: QEMU exit %d after %ld ms; guest /init at %ld "
		    "ms, /dev/ipmi0 at %ld ms, done at %ld ms (guest uptime)",
		    g->tag, g->status, g->wall_ms, g->init_ms, g->ipmi0_ms,
		    g->end_ms);
}

/* A check run ended as it should: every check ran, the guest powered off. */
static void
e2e_assert_finished(const struct e2e_guest *g)
{
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

/*
 * The value after "label  :" on a line of out that starts with label
 * (after blanks) and has only blanks between it and the colon, trimmed;
 * as ipmitool prints its fields. -1 when no line has it.
 */
static int
e2e_field(const char *out, const char *label, char *val, size_t len)
{
	const char	*s, *eol, *p, *e;
	size_t		 n = strlen(label);

	for (s = out; s != NULL && *s != '\0'; s = eol != NULL ? eol + 1 :
	    NULL) {
		eol = strchr(s, '\n');
		for (p = s; *p == ' ' || *p == '\t'; p++)
			;
		if (strncmp(p, label, n) != 0)
			continue;
		for (p += n; *p == ' ' || *p == '\t'; p++)
			;
		if (*p != ':')
			continue;
		for (p++; *p == ' ' || *p == '\t'; p++)
			;
		e = eol != NULL ? eol : p + strlen(p);
		while (e > p && isspace((unsigned char)e[-1]))
			e--;
		snprintf(val, len, "%.*s", (int)(e - p), p);
		return 0;
	}
	return -1;
}

/* A check ran and exited 0. */
static const struct e2e_result *
e2e_ok(const struct e2e_guest *g, const char *name)
{
	const struct e2e_result	*r = e2e_res(g, name);

	cr_assert_eq(r->rc, 0, "%s %s: exit %d:\n%s", g->tag, name, r->rc,
	    r->out);
	return r;
}

/* Field label of out (from check name) is exactly want. */
static void
e2e_want(const struct e2e_guest *g, const char *name, const char *out,
    const char *label, const char *want)
{
	char	got[256];

	cr_assert_eq(e2e_field(out, label, got, sizeof(got)), 0,
	    "%s %s: no field '%s' in:\n%s", g->tag, name, label, out);
	cr_assert_str_eq(got, want, "%s %s: %s is '%s', want '%s'", g->tag,
	    name, label, got, want);
}

/* Check name's output holds a line with needle. */
static void
e2e_want_line(const struct e2e_guest *g, const char *name, const char *out,
    const char *needle)
{
	cr_assert(strstr(out, needle) != NULL, "%s %s: no '%s' in:\n%s",
	    g->tag, name, needle, out);
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

/*
 * What every BMC must show the guest: the driver is up and clean. Returns
 * its interrupt count (e2e_irqs()).
 */
static long
e2e_assert_driver(const struct e2e_guest *g)
{
	const struct e2e_result	*r = e2e_res(g, "dev-ipmi0");

	cr_assert_eq(r->rc, 0, "%s: /dev/ipmi0: %s", g->tag, r->out);
	cr_assert(r->out[0] == 'c', "%s: /dev/ipmi0 is no character device: "
	    "%s", g->tag, r->out);
	e2e_assert_dmesg_clean(g, "dmesg-ipmi");
	e2e_assert_dmesg_clean(g, "dmesg-end");
	return e2e_irqs(g);
}

/* ---- the broker side ---- */

/*
 * A "key = value" of a handler's config file (first match in section, or
 * in any section when section is NULL; a " ;" or " #" ends the value):
 * the copy the handlers run with, else conf/<file>.
 */
static int
e2e_ini(const char *file, const char *section, const char *key, char *val,
    size_t len)
{
	char		 path[PATH_MAX], line[512], cur[128], *p, *e, *c;
	const char	*src = e2e_env("IPMI_SRCDIR");
	FILE		*f;
	int		 found = -1;
	size_t		 n;

	if (confdir[0] != '\0')
		snprintf(path, sizeof(path), "%s/%s", confdir, file);
	else if (src != NULL)
		snprintf(path, sizeof(path), "%s/conf/%s", src, file);
	else
		return -1;
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	cur[0] = '\0';
	while (found < 0 && fgets(line, sizeof(line), f) != NULL) {
		for (p = line; isspace((unsigned char)*p); p++)
			;
		if (*p == '[' && (e = strchr(p, ']')) != NULL) {
			snprintf(cur, sizeof(cur), "%.*s", (int)(e - p - 1),
			    p + 1);
			continue;
		}
		n = strlen(key);
		if ((section != NULL && strcmp(cur, section) != 0) ||
		    strncmp(p, key, n) != 0)
			continue;
		for (p += n; *p == ' ' || *p == '\t'; p++)
			;
		if (*p++ != '=')
			continue;
		for (; *p == ' ' || *p == '\t'; p++)
			;
		for (c = p; (c = strpbrk(c, ";#")) != NULL; c++)
			if (c > p && (c[-1] == ' ' || c[-1] == '\t')) {
				*c = '\0';
				break;
			}
		for (e = p + strlen(p); e > p &&
		    isspace((unsigned char)e[-1]); e--)
			;
		snprintf(val, len, "%.*s", (int)(e - p), p);
		found = 0;
	}
	fclose(f);
	return found;
}

/* The first key in any section of a handler's config. */
static int
e2e_conf_value(const char *file, const char *key, char *val, size_t len)
{
	return e2e_ini(file, NULL, key, val, len);
}

/* A value the test needs from a config: fails the test without it. */
static const char *
e2e_conf(const char *file, const char *section, const char *key)
{
	static char	val[8][256];
	static int	next;
	char		*v = val[next++ % 8];

	cr_assert_eq(e2e_ini(file, section, key, v, sizeof(val[0])), 0,
	    "no %s in [%s] of %s/%s", key, section != NULL ? section : "*",
	    confdir, file);
	return v;
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

/* Copy a file, bytes and mode. */
static int
e2e_copy(const char *from, const char *to)
{
	char		buf[8192];
	struct stat	st;
	ssize_t		n;
	int		in, out, r = 0;

	if ((in = open(from, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	if (fstat(in, &st) < 0 || (out = open(to, O_WRONLY | O_CREAT |
	    O_TRUNC | O_CLOEXEC, st.st_mode & 0777)) < 0) {
		close(in);
		return -1;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n)
			r = -1;
	if (n < 0 || close(out) < 0)
		r = -1;
	close(in);
	return r;
}

/* A whole binary file; returns its length or -1. */
static ssize_t
e2e_read_bytes(const char *path, uint8_t *buf, size_t max)
{
	ssize_t	n;
	size_t	len = 0;
	int	fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	while (len < max && (n = read(fd, buf + len, max - len)) > 0)
		len += (size_t)n;
	close(fd);
	return (ssize_t)len;
}

/* Run argv (bounded), output in log; returns its exit code. */
static int
e2e_run_tool(char *const argv[], const char *log, int timeout_ms)
{
	pid_t	pid;
	int	rc;

	(void)unlink(log);
	if ((pid = itest_spawn(log, argv, NULL)) < 0)
		return -1;
	if ((rc = itest_wait_pid(pid, timeout_ms)) == -1)
		(void)itest_stop_pid(pid, 1000);
	return rc;
}

/*
 * What the run's handlers and checks use, fixed per run (from the port,
 * which the kernel picked): the readings the sdr-fru handler's sensors
 * take from their files and command, and the fields of the FRU image the
 * guest writes.
 */
struct e2e_plan {
	int	cpu_temp;		/* degrees C */
	int	p12v_dv;		/* 12V sensor, decivolts */
	int	fan_rpm;
	char	fru_mfg[32];
	char	fru_product[32];
	char	fru_serial[32];
	char	fru_part[32];
	uint8_t	fru_new[256];		/* the image fru write sends */
	char	fru_hex[513];
};

static struct e2e_plan	plan;

/*
 * The handlers' configs, copied from conf/ into the test's directory:
 * the SEL log and the App handler's state go there too, and fru write
 * changes only the copy of sdr-fru/fru1.bin. Then the FRU image the guest
 * writes, built with ipmi-fru-build from a description made here.
 */
static void
e2e_conf_prepare(int port)
{
	static const char *const files[] = { "app-handler.conf",
		"oem-example.conf", "chassis-handler.conf",
		"sdr-fru-handler.conf" };
	const char	*src = e2e_env("IPMI_SRCDIR");
	const char	*fru_build = e2e_env("IPMI_FRU_BUILD");
	char		 from[PATH_MAX], to[PATH_MAX], ini[PATH_MAX];
	char		 log[PATH_MAX], text[512], *sel, *p, *eol;
	char		*argv[] = { (char *)fru_build, "-s", "256", ini, to,
			    NULL };
	struct dirent	*d;
	DIR		*dir;
	FILE		*f;
	size_t		 i;
	ssize_t		 n;

	cr_assert(src != NULL && fru_build != NULL,
	    "IPMI_SRCDIR or IPMI_FRU_BUILD is not set");
	snprintf(confdir, sizeof(confdir), "%s/conf", env.dir);
	snprintf(to, sizeof(to), "%s/sdr-fru", confdir);
	cr_assert(mkdir(confdir, 0755) == 0 && mkdir(to, 0755) == 0);
	snprintf(to, sizeof(to), "%s/state", env.dir);
	cr_assert(mkdir(to, 0755) == 0);
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(from, sizeof(from), "%s/conf/%s", src, files[i]);
		snprintf(to, sizeof(to), "%s/%s", confdir, files[i]);
		cr_assert_eq(e2e_copy(from, to), 0, "copy %s", from);
	}
	snprintf(from, sizeof(from), "%s/conf/sdr-fru", src);
	cr_assert((dir = opendir(from)) != NULL, "%s", from);
	while ((d = readdir(dir)) != NULL) {
		if (d->d_name[0] == '.')
			continue;
		snprintf(from, sizeof(from), "%s/conf/sdr-fru/%s", src,
		    d->d_name);
		snprintf(to, sizeof(to), "%s/sdr-fru/%s", confdir, d->d_name);
		cr_assert_eq(e2e_copy(from, to), 0, "copy %s", from);
	}
	closedir(dir);

	/* sel-handler.conf with its log in the test's directory. */
	snprintf(from, sizeof(from), "%s/conf/sel-handler.conf", src);
	cr_assert((sel = itest_read_file(from)) != NULL, "%s", from);
	cr_assert((p = strstr(sel, "\npath = ")) != NULL,
	    "no path in %s", from);
	eol = strchr(p + 1, '\n');
	snprintf(to, sizeof(to), "%s/sel-handler.conf", confdir);
	snprintf(text, sizeof(text), "\npath = %s/state/sel.log", env.dir);
	cr_assert((f = fopen(to, "w")) != NULL, "%s", to);
	fprintf(f, "%.*s%s%s", (int)(p - sel), sel, text,
	    eol != NULL ? eol : "\n");
	cr_assert(fclose(f) == 0);
	free(sel);

	/* This run's sensor readings (in range: status ok) and FRU fields. */
	plan.cpu_temp = 30 + port % 40;
	snprintf(to, sizeof(to), "%s/sdr-fru/cpu-temp", confdir);
	snprintf(text, sizeof(text), "%d000\n", plan.cpu_temp);
	cr_assert_eq(itest_write_file(to, text), 0);
	plan.p12v_dv = 121 + port % 4;
	snprintf(to, sizeof(to), "%s/sdr-fru/p12v", confdir);
	snprintf(text, sizeof(text), "%d.%d\n", plan.p12v_dv / 10,
	    plan.p12v_dv % 10);
	cr_assert_eq(itest_write_file(to, text), 0);
	plan.fan_rpm = 2000 + port % 30 * 100;
	snprintf(to, sizeof(to), "%s/sdr-fru/fan1-rpm.sh", confdir);
	snprintf(text, sizeof(text), "#!/bin/sh\necho %d\n", plan.fan_rpm);
	cr_assert(itest_write_file(to, text) == 0 && chmod(to, 0755) == 0);
	snprintf(plan.fru_mfg, sizeof(plan.fru_mfg), "E2E Power Works");
	snprintf(plan.fru_product, sizeof(plan.fru_product), "PSU E2E-%d",
	    port);
	snprintf(plan.fru_serial, sizeof(plan.fru_serial), "SN%08d", port);
	snprintf(plan.fru_part, sizeof(plan.fru_part), "E2E-PN-%d",
	    port % 1000);
	snprintf(ini, sizeof(ini), "%s/fru1-new.ini", env.dir);
	snprintf(text, sizeof(text), "[board]\nmanufacturer = %s\n"
	    "product_name = %s\nserial_number = %s\npart_number = %s\n",
	    plan.fru_mfg, plan.fru_product, plan.fru_serial, plan.fru_part);
	cr_assert_eq(itest_write_file(ini, text), 0);
	snprintf(to, sizeof(to), "%s/fru1-new.bin", env.dir);
	snprintf(log, sizeof(log), "%s/fru-build.out", env.dir);
	cr_assert_eq(e2e_run_tool(argv, log, 10000), 0,
	    "ipmi-fru-build -s 256 %s %s failed (%s)", ini, to, log);
	n = e2e_read_bytes(to, plan.fru_new, sizeof(plan.fru_new));
	cr_assert_eq(n, 256, "ipmi-fru-build -s 256 made %zd bytes", n);
	for (i = 0; i < 256; i++)
		snprintf(plan.fru_hex + 2 * i, 3, "%02x", plan.fru_new[i]);
}

/* Start a shipped handler on its copied config; log in <tag>.log. */
static void
e2e_handler_start(const char *binvar, const char *conf, const char *tag)
{
	char	path[PATH_MAX], log[PATH_MAX], sock[256], state[PATH_MAX];
	char	*argv[] = { (char *)itest_bin(binvar), "-c", path, NULL };
	char	*envp[] = { sock, state, NULL };
	pid_t	 pid;

	cr_assert(argv[0] != NULL, "%s is not set", binvar);
	cr_assert(nhandlers < sizeof(handlers) / sizeof(handlers[0]));
	snprintf(path, sizeof(path), "%s/%s", confdir, conf);
	snprintf(log, sizeof(log), "%s/%s.log", env.dir, tag);
	snprintf(sock, sizeof(sock), "IPMI_BROKER_SOCKET=%s", env.hsock);
	snprintf(state, sizeof(state), "STATE_DIRECTORY=%s/state", env.dir);
	cr_assert((pid = itest_spawn(log, argv, envp)) > 0, "start %s",
	    argv[0]);
	handlers[nhandlers++] = pid;
}

/* Start the handlers and wait until ipmi-ctl list shows each. */
static void
e2e_start_handlers(void)
{
	static const char	*names[] = { "\"app\"", "\"oem-example\"",
				    "\"chassis\"", "\"sel\"", "\"sdr-fru\"",
				    "\"staller\"", "\"doomed\"" };
	Hnd__Key		 kstall = rawh_key(0x30, false, 0x02);
	Hnd__Key		 kdoom = rawh_key(0x30, false, 0x03);
	char			 line[64];
	int64_t			 end;
	size_t			 i;
	bool			 all;

	e2e_handler_start("IPMI_HANDLER_APP", "app-handler.conf", "app");
	e2e_handler_start("IPMI_HANDLER_OEM", "oem-example.conf", "oem");
	e2e_handler_start("IPMI_HANDLER_CHASSIS", "chassis-handler.conf",
	    "chassis");
	e2e_handler_start("IPMI_HANDLER_SEL", "sel-handler.conf", "sel");
	e2e_handler_start("IPMI_HANDLER_SDR_FRU", "sdr-fru-handler.conf",
	    "sdr-fru");
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

/*
 * Wait until Get Device ID's additional device support shows want (the
 * App handler finds it from the broker's table, once a second), and
 * return the whole answer.
 */
static size_t
e2e_wait_support(uint8_t *devid, unsigned int want)
{
	int64_t		end = itest_now_ms() + 10000;
	unsigned int	cc;
	size_t		n;

	for (;;) {
		cr_assert_eq(itest_send_json(&env, &run, &cc, devid, &n, "6",
		    "1", NULL), 0, "ipmi-ctl send 6 1: %s %s", run.out,
		    run.err);
		cr_assert_eq(cc, 0, "Get Device ID through ipmi-ctl: cc "
		    "0x%02x", cc);
		cr_assert_geq(n, 6, "Get Device ID: %zu bytes", n);
		if (devid[5] == want)
			return n;
		cr_assert(itest_now_ms() < end, "additional device support "
		    "0x%02x, want 0x%02x", devid[5], want);
		itest_pause_ms(100);
	}
}

/* ---- trace capture ---- */

/* Start ipmi-ctl trace -w pcap -q; return once the broker says so. */
static void
e2e_trace_start(const char *pcap)
{
	char	log[PATH_MAX];
	char	*argv[] = { (char *)itest_bin("IPMI_CTL"), "-s", env.csock,
		    "trace", "-w", (char *)pcap, "-q", NULL };

	cr_assert(argv[0] != NULL, "IPMI_CTL is not set");
	snprintf(log, sizeof(log), "%s/trace.out", env.dir);
	cr_assert((trace_pid = itest_spawn(log, argv, NULL)) > 0);
	cr_assert_eq(itest_wait_file(env.log, ": tracing", 10000), 0,
	    "the broker never logged the trace client (%s, %s)", env.log,
	    log);
}

/* SIGINT ends the capture; ipmi-ctl flushes the file and exits 0. */
static void
e2e_trace_stop(void)
{
	int	rc;

	cr_assert(trace_pid > 0);
	(void)kill(trace_pid, SIGINT);
	rc = itest_wait_pid(trace_pid, 10000);
	if (rc == -1)
		(void)itest_stop_pid(trace_pid, 1000);
	trace_pid = -1;
	cr_assert_eq(rc, 0, "ipmi-ctl trace exit %d on SIGINT (%s/trace.out)",
	    rc, env.dir);
}

/* tshark's decode of pcap, one packet a line (malloc'd). */
static char *
e2e_tshark(const char *pcap)
{
	const char	*tshark = e2e_env("E2E_TSHARK");
	char		 out[PATH_MAX], *text;
	char		*argv[] = { (char *)tshark, "-r", (char *)pcap, "-o",
			    "ipmi.dissect_bus_commands:TRUE", NULL };
	int		 rc;

	cr_assert(tshark != NULL, "tshark not found: run tools/deps.sh");
	snprintf(out, sizeof(out), "%s/tshark.txt", env.dir);
	rc = e2e_run_tool(argv, out, E2E_TRACE_MS);
	text = itest_read_file(out);
	cr_assert_eq(rc, 0, "tshark -r %s exit %d:\n%.2000s", pcap, rc,
	    text != NULL ? text : "");
	cr_assert(text != NULL);
	return text;
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

/*
 * The guest reached its rate runs: end the capture, keep the table the
 * guest's firewall info saw (e2e_firewall_expect()), then open the gate
 * (0x30 0x04 answered 00h) the guest waits for, so that the rates run
 * untraced, as with ipmi_sim.
 */
static void
e2e_rates_open(void)
{
	Hnd__Key	kgate = rawh_key(0x30, false, 0x04);
	char		line[64];

	e2e_trace_stop();
	cr_assert_eq(itest_ctl(&env, &run, 10000, "--json", "list", NULL), 0);
	snprintf(table, sizeof(table), "%s", run.out);
	cr_assert_eq(rawh_child_start(&gate, env.hsock, "gate", &kgate, 1,
	    false, 0, NULL, 0), 0);
	cr_assert_eq(rawh_child_line(&gate, line, sizeof(line), 5000), 0);
	cr_assert(strncmp(line, "ok", 2) == 0, "gate: %s", line);
}

/* ---- the shipped handlers, as the guest's ipmitool saw them ---- */

#define E2E_FIELDS	8

/*
 * The line of out whose first '|'-separated field is first, split into
 * trimmed fields (as ipmitool's sdr list, sel list print them). Returns
 * how many, 0 when no line has it.
 */
static int
e2e_row(const char *out, const char *first, char f[E2E_FIELDS][64])
{
	const char	*s, *eol, *p, *q, *e;
	int		 n;

	for (s = out; s != NULL && *s != '\0'; s = eol != NULL ? eol + 1 :
	    NULL) {
		eol = strchr(s, '\n');
		e = eol != NULL ? eol : s + strlen(s);
		if (memchr(s, '|', (size_t)(e - s)) == NULL)
			continue;
		for (n = 0, p = s; p < e && n < E2E_FIELDS; n++) {
			q = memchr(p, '|', (size_t)(e - p));
			if (q == NULL)
				q = e;
			while (p < q && isspace((unsigned char)*p))
				p++;
			snprintf(f[n], 64, "%.*s", (int)(q - p), p);
			while (strlen(f[n]) > 0 && isspace((unsigned char)
			    f[n][strlen(f[n]) - 1]))
				f[n][strlen(f[n]) - 1] = '\0';
			p = q + 1;
		}
		if (strcmp(f[0], first) == 0)
			return n;
	}
	return 0;
}

/* A row must read exactly want[0..n-1]. */
static void
e2e_want_row(const struct e2e_guest *g, const char *name, const char *out,
    const char *const *want, int n)
{
	char	f[E2E_FIELDS][64];
	int	i, got = e2e_row(out, want[0], f);

	cr_assert_eq(got, n, "%s %s: no %d-field row '%s' in:\n%s", g->tag,
	    name, n, want[0], out);
	for (i = 1; i < n; i++)
		cr_assert_str_eq(f[i], want[i], "%s %s: row '%s' field %d is "
		    "'%s', want '%s'", g->tag, name, want[0], i, f[i],
		    want[i]);
}

/* "MM/DD/YY" and "HH:MM:SS[ UTC]" (the guest runs in UTC) as time_t. */
static time_t
e2e_time(const char *date, const char *clock)
{
	struct tm	tm;

	memset(&tm, 0, sizeof(tm));
	if (sscanf(date, "%d/%d/%d", &tm.tm_mon, &tm.tm_mday,
	    &tm.tm_year) != 3 || sscanf(clock, "%d:%d:%d", &tm.tm_hour,
	    &tm.tm_min, &tm.tm_sec) != 3)
		return (time_t)-1;
	tm.tm_mon--;
	tm.tm_year += 100;
	return timegm(&tm);
}

/* An ipmi_si counter from an e2e_si check ("name value" lines). */
static long
e2e_si(const struct e2e_guest *g, const char *check, const char *name)
{
	const struct e2e_result	*r = e2e_ok(g, check);
	char			 line[128], want[64];
	long			 v;

	snprintf(want, sizeof(want), "%s ", name);
	cr_assert_eq(itest_line_with(r->out, want, NULL, line, sizeof(line)),
	    0, "%s %s: no %s in:\n%s", g->tag, check, name, r->out);
	cr_assert_eq(sscanf(line + strlen(want), "%ld", &v), 1,
	    "%s %s: %s", g->tag, check, line);
	return v;
}

/* The enables a getenables listing shows, as a string to compare. */
static void
e2e_enables(const struct e2e_guest *g, const char *check, char *buf,
    size_t len, const char *skip)
{
	static const char *const names[] = {
		"Receive Message Queue Interrupt",
		"Event Message Buffer Full Interrupt",
		"Event Message Buffer", "System Event Logging", "OEM 0",
		"OEM 1", "OEM 2" };
	const struct e2e_result	*r = e2e_ok(g, check);
	char			 v[64];
	size_t			 i, o = 0;

	buf[0] = '\0';
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		cr_assert_eq(e2e_field(r->out, names[i], v, sizeof(v)), 0,
		    "%s %s: no %s in:\n%s", g->tag, check, names[i], r->out);
		if (skip == NULL || strcmp(names[i], skip) != 0)
			o += (size_t)snprintf(buf + o, len - o, "%s=%s;",
			    names[i], v);
	}
}

/*
 * mc: info (identity and the additional device support listing exactly
 * the running handlers), guid (the one the App handler keeps in
 * STATE_DIRECTORY), selftest, getenables (the driver's enables), and the
 * setenables round trip on OEM 0.
 */
static void
e2e_assert_mc(const struct e2e_guest *g)
{
	static const char *const support[] = { "Sensor Device",
		"SDR Repository Device", "SEL Device", "FRU Inventory Device",
		"Chassis Device", NULL };
	const struct e2e_result	*r;
	const char		*p, *eol;
	char			 path[PATH_MAX], line[128], *guid, *nl;
	char			 before[512], after[512];
	size_t			 i, n;

	e2e_assert_mc_info(g);
	r = e2e_ok(g, "mc-info");
	p = strstr(r->out, "Additional Device Support :\n");
	cr_assert(p != NULL, "%s mc info: no device support list:\n%s",
	    g->tag, r->out);
	p = strchr(p, '\n') + 1;
	for (i = 0; *p == ' '; i++, p = eol + (*eol != '\0')) {
		eol = strchr(p, '\n');
		if (eol == NULL)
			eol = p + strlen(p);
		for (; *p == ' '; p++)
			;
		n = (size_t)(eol - p);
		snprintf(line, sizeof(line), "%.*s", (int)n, p);
		cr_assert(support[i] != NULL && strcmp(line, support[i]) == 0,
		    "%s mc info: device support item %zu is '%s', want '%s':"
		    "\n%s", g->tag, i, line,
		    support[i] != NULL ? support[i] : "(none)", r->out);
	}
	cr_assert(support[i] == NULL, "%s mc info: no '%s' in:\n%s", g->tag,
	    support[i], r->out);

	snprintf(path, sizeof(path), "%s/state/app-guid", env.dir);
	cr_assert((guid = itest_read_file(path)) != NULL, "no %s", path);
	if ((nl = strchr(guid, '\n')) != NULL)
		*nl = '\0';
	r = e2e_ok(g, "mc-guid");
	e2e_want(g, "mc-guid", r->out, "System GUID", guid);
	cr_assert(strcmp(guid, "00000000-0000-0000-0000-000000000000") != 0);
	free(guid);

	r = e2e_ok(g, "mc-selftest");
	e2e_want_line(g, "mc-selftest", r->out, "Selftest: passed");

	/* The driver probed with these on: interrupts and the buffer. */
	r = e2e_ok(g, "mc-getenables");
	e2e_want(g, "mc-getenables", r->out,
	    "Receive Message Queue Interrupt", "enabled");
	e2e_want(g, "mc-getenables", r->out, "Event Message Buffer",
	    "enabled");
	e2e_want(g, "mc-getenables", r->out, "OEM 0", "disabled");
	e2e_enables(g, "mc-getenables", before, sizeof(before), "OEM 0");
	r = e2e_ok(g, "mc-setenables-on");
	e2e_want_line(g, "mc-setenables-on", r->out, "Enabling OEM 0");
	e2e_want(g, "mc-getenables-on", e2e_ok(g, "mc-getenables-on")->out,
	    "OEM 0", "enabled");
	e2e_enables(g, "mc-getenables-on", after, sizeof(after), "OEM 0");
	cr_assert_str_eq(after, before, "%s setenables oem0 on changed other "
	    "enables: %s, before %s", g->tag, after, before);
	e2e_ok(g, "mc-setenables-off");
	e2e_want(g, "mc-getenables-off", e2e_ok(g, "mc-getenables-off")->out,
	    "OEM 0", "disabled");
	e2e_enables(g, "mc-getenables-off", after, sizeof(after), "OEM 0");
	cr_assert_str_eq(after, before, "%s setenables oem0 off: %s, before "
	    "%s", g->tag, after, before);
	e2e_note("%s mc: info (identity, device support = the 5 handlers' "
	    "functions), guid (= STATE_DIRECTORY/app-guid), selftest passed, "
	    "getenables, setenables oem0 on/off round trip", g->tag);
}

/*
 * chassis: status and power status as chassis-handler.conf starts,
 * identify (default, force), bootdev pxe kept in boot parameter 5,
 * power on refused (a VM has none), policy list, poh, restart cause.
 */
static void
e2e_assert_chassis(const struct e2e_guest *g)
{
	const struct e2e_result	*r;
	const char		*power = e2e_conf("chassis-handler.conf",
				    "chassis", "power");
	const char		*policy = e2e_conf("chassis-handler.conf",
				    "chassis", "restore_policy");
	char			 want[64];

	r = e2e_ok(g, "chassis-status");
	e2e_want(g, "chassis-status", r->out, "System Power", power);
	e2e_want(g, "chassis-status", r->out, "Power Restore Policy", policy);
	e2e_want(g, "chassis-status", r->out, "Power Control Fault", "false");
	e2e_want(g, "chassis-status", r->out, "Main Power Fault", "false");
	e2e_want(g, "chassis-status", r->out, "Front Panel Control", "none");
	r = e2e_ok(g, "chassis-power-status");
	snprintf(want, sizeof(want), "Chassis Power is %s\n", power);
	cr_assert_str_eq(r->out, want, "%s chassis power status", g->tag);
	r = e2e_ok(g, "chassis-identify");
	cr_assert_str_eq(r->out, "Chassis identify interval: default "
	    "(15 seconds)\n", "%s chassis identify", g->tag);
	r = e2e_ok(g, "chassis-identify-force");
	cr_assert_str_eq(r->out, "Chassis identify interval: indefinite\n",
	    "%s chassis identify force", g->tag);
	r = e2e_ok(g, "chassis-bootdev-pxe");
	cr_assert_str_eq(r->out, "Set Boot Device to pxe\n",
	    "%s chassis bootdev pxe", g->tag);
	r = e2e_ok(g, "chassis-bootparam-5");
	e2e_want_line(g, "chassis-bootparam-5", r->out,
	    "Boot parameter 5 is valid/unlocked");
	e2e_want_line(g, "chassis-bootparam-5", r->out, "- Boot Flag Valid\n");
	e2e_want_line(g, "chassis-bootparam-5", r->out,
	    "- Boot Device Selector : Force PXE\n");
	r = e2e_res(g, "chassis-power-on");
	cr_assert_neq(r->rc, 0, "%s chassis power on succeeded: %s", g->tag,
	    r->out);
	e2e_want_line(g, "chassis-power-on", r->out, "Set Chassis Power "
	    "Control to Up/On failed: Invalid data field in request");
	r = e2e_ok(g, "chassis-policy-list");
	e2e_want_line(g, "chassis-policy-list", r->out,
	    "always-off always-on previous");
	r = e2e_ok(g, "chassis-poh");
	e2e_want_line(g, "chassis-poh", r->out, "POH Counter  : 0 days, "
	    "0 hours, ");
	r = e2e_ok(g, "chassis-restart-cause");
	cr_assert_str_eq(r->out, "System restart cause: unknown\n",
	    "%s chassis restart_cause", g->tag);
	e2e_note("%s chassis: status (power %s, policy %s, no faults, "
	    "front panel none), power status, identify (15 s default, "
	    "force indefinite), bootdev pxe -> bootparam 5 Force PXE, power "
	    "on refused 0xcc, policy list, poh, restart_cause", g->tag, power,
	    policy);
}

/* sel info as a SEL of capacity entries holding used of them shows. */
static void
e2e_assert_sel_info(const struct e2e_guest *g, const char *check,
    unsigned int capacity, unsigned int used)
{
	const struct e2e_result	*r = e2e_ok(g, check);
	char			 want[64];

	e2e_want(g, check, r->out, "Version", "1.5 (v1.5, v2 compliant)");
	snprintf(want, sizeof(want), "%u", used);
	e2e_want(g, check, r->out, "Entries", want);
	snprintf(want, sizeof(want), "%u bytes", (capacity - used) * 16);
	e2e_want(g, check, r->out, "Free Space", want);
	e2e_want(g, check, r->out, "Overflow", "false");
	e2e_want(g, check, r->out, "Supported Cmds",
	    "'Delete' 'Reserve' 'Get Alloc Info'");
	snprintf(want, sizeof(want), "%u", capacity);
	e2e_want(g, check, r->out, "# of Alloc Units", want);
	e2e_want(g, check, r->out, "Alloc Unit Size", "16");
	snprintf(want, sizeof(want), "%u", capacity - used);
	e2e_want(g, check, r->out, "# Free Units", want);
}

/*
 * sel: info on the empty log (capacity from sel-handler.conf), event 1
 * logged with the host's clock (between t0 and t1) and shown by list,
 * elist and get 1, time set/get, delete, a second event, clear. And the
 * event path: the SEL passed each event to the App handler's event
 * buffer, whose attention made the guest's driver fetch it (ipmi_si's
 * counters; the trace shows the reads, e2e_assert_trace()).
 */
static void
e2e_assert_sel(const struct e2e_guest *g, time_t t0, time_t t1)
{
	static const char *const row[] = { "1", NULL, NULL,
		"Temperature #0x30", "Upper Critical going high", "Asserted" };
	const char		*want[6];
	const struct e2e_result	*r;
	char			 f[E2E_FIELDS][64];
	unsigned int		 cap = (unsigned int)strtoul(
				    e2e_conf("sel-handler.conf", "sel",
				    "capacity"), NULL, 0);
	time_t			 t;
	long			 ev, att, irq;
	size_t			 i;

	e2e_assert_sel_info(g, "sel-info-empty", cap, 0);
	e2e_want(g, "sel-info-empty", e2e_res(g, "sel-info-empty")->out,
	    "Last Add Time", "Not Available");

	r = e2e_ok(g, "event-1");
	e2e_want_line(g, "event-1", r->out, "Sending SAMPLE event: "
	    "Temperature - Upper Critical - Going High");
	ev = e2e_si(g, "si-after", "events") - e2e_si(g, "si-before",
	    "events");
	att = e2e_si(g, "si-after", "attentions") - e2e_si(g, "si-before",
	    "attentions");
	irq = e2e_si(g, "si-after", "interrupts") - e2e_si(g, "si-before",
	    "interrupts");
	cr_assert_eq(ev, 1, "%s: the guest's driver fetched %ld events after "
	    "ipmitool event 1", g->tag, ev);
	cr_assert_geq(att, 1, "%s: no attention reached the guest's driver",
	    g->tag);
	cr_assert_gt(irq, 0, "%s: no IPMI interrupt in the guest", g->tag);
	e2e_note("%s event 1: the guest's ipmi_si fetched %ld event, saw %ld "
	    "attention, took %ld interrupts meanwhile", g->tag, ev, att, irq);

	r = e2e_ok(g, "sel-list");
	cr_assert_eq(e2e_row(r->out, "1", f), 6, "%s sel list:\n%s", g->tag,
	    r->out);
	t = e2e_time(f[1], f[2]);
	cr_assert(t >= t0 - 2 && t <= t1 + 2, "%s sel list: entry 1 at %s %s,"
	    " not during the run (%lld..%lld)", g->tag, f[1], f[2],
	    (long long)t0, (long long)t1);
	for (i = 0; i < 6; i++)
		want[i] = row[i] != NULL ? row[i] : f[i];
	e2e_want_row(g, "sel-list", r->out, want, 6);
	e2e_want_row(g, "sel-elist", e2e_ok(g, "sel-elist")->out, want, 6);

	r = e2e_ok(g, "sel-get-1");
	e2e_want(g, "sel-get-1", r->out, "SEL Record ID", "0001");
	e2e_want(g, "sel-get-1", r->out, "Record Type", "02");
	e2e_want(g, "sel-get-1", r->out, "Generator ID", "0041");
	e2e_want(g, "sel-get-1", r->out, "EvM Revision", "04");
	e2e_want(g, "sel-get-1", r->out, "Sensor Type", "Temperature");
	e2e_want(g, "sel-get-1", r->out, "Sensor Number", "30");
	e2e_want(g, "sel-get-1", r->out, "Event Type", "Threshold");
	e2e_want(g, "sel-get-1", r->out, "Event Direction",
	    "Assertion Event");
	e2e_want(g, "sel-get-1", r->out, "Event Data", "09ffff");
	e2e_want(g, "sel-get-1", r->out, "Description",
	    "Upper Critical going high");

	e2e_ok(g, "sel-time-set");
	r = e2e_ok(g, "sel-time-get");
	cr_assert_eq(sscanf(r->out, "%63s %63s", f[0], f[1]), 2,
	    "%s sel time get: %s", g->tag, r->out);
	t = e2e_time(f[0], f[1]);
	/* 2030-01-02 03:04:05 UTC, as guest-checks.sh sets it. */
	cr_assert(t >= 1893553445 && t <= 1893553445 + 5,
	    "%s sel time get: %s after setting 01/02/30 03:04:05", g->tag,
	    r->out);

	r = e2e_ok(g, "sel-delete-1");
	cr_assert_str_eq(r->out, "Deleted entry 1\n", "%s sel delete 1",
	    g->tag);
	r = e2e_res(g, "sel-get-1-deleted");
	cr_assert_neq(r->rc, 0, "%s sel get 1 after delete: %s", g->tag,
	    r->out);
	e2e_want_line(g, "sel-get-1-deleted", r->out,
	    "Requested sensor, data, or record not found");
	e2e_ok(g, "event-2");
	e2e_assert_sel_info(g, "sel-info-one", cap, 1);
	/* Logged by the clock set above. */
	e2e_want_line(g, "sel-info-one", e2e_res(g, "sel-info-one")->out,
	    "Last Add Time    : 01/02/30 03:04:");
	r = e2e_ok(g, "sel-clear");
	e2e_want_line(g, "sel-clear", r->out, "Clearing SEL.");
	e2e_assert_sel_info(g, "sel-info-cleared", cap, 0);
	e2e_note("%s sel: info (v1.5, %u entries capacity, 'Delete' "
	    "'Reserve' 'Get Alloc Info'), event 1 -> list/elist/get 1 "
	    "(host time, EvM 04, sensor 0x30), time set/get, delete 1 "
	    "(then get 1: 0xcb), info 1 entry, clear -> 0", g->tag, cap);
}

/* ipmitool's rendering of value in units of step (m * 10^r_exp). */
static void
e2e_reading(char *buf, size_t len, double v, bool integral)
{
	if (integral)
		snprintf(buf, len, "%.0f", v);
	else
		snprintf(buf, len, "%.2f", v);
}

/*
 * sdr: list and elist (this run's readings from the sources the test
 * wrote, sensor numbers and entities from sdr-fru-handler.conf), info,
 * get with the configured thresholds.
 */
static void
e2e_assert_sdr(const struct e2e_guest *g)
{
	const char		*sf = "sdr-fru-handler.conf";
	const struct e2e_result	*r;
	char			 cpu[64], v12[64], fan[64], n[16], ent[16];
	char			 want[64];
	const char		*rows[3][5];
	const char		*list[3][3];
	size_t			 i;

	e2e_reading(cpu, sizeof(cpu), plan.cpu_temp, true);
	strcat(cpu, " degrees C");
	e2e_reading(v12, sizeof(v12), plan.p12v_dv / 10.0, false);
	strcat(v12, " Volts");
	snprintf(fan, sizeof(fan), "%d RPM", plan.fan_rpm);
	list[0][0] = "CPU Temp";
	list[0][1] = cpu;
	list[1][0] = "12V";
	list[1][1] = v12;
	list[2][0] = "FAN1";
	list[2][1] = fan;
	r = e2e_ok(g, "sdr-list");
	cr_assert_eq(itest_count(r->out, "\n"), 3, "%s sdr list:\n%s", g->tag,
	    r->out);
	for (i = 0; i < 3; i++) {
		list[i][2] = "ok";
		e2e_want_row(g, "sdr-list", r->out, list[i], 3);
	}
	r = e2e_ok(g, "sdr-elist");
	for (i = 0; i < 3; i++) {
		char	sec[64];

		snprintf(sec, sizeof(sec), "sensor %s", list[i][0]);
		snprintf(n, sizeof(n), "%02lxh", strtoul(e2e_conf(sf, sec,
		    "number"), NULL, 0));
		snprintf(ent, sizeof(ent), "%s", e2e_conf(sf, sec, "entity"));
		rows[i][0] = list[i][0];
		rows[i][1] = n;
		rows[i][2] = "ok";
		rows[i][3] = ent;
		rows[i][4] = list[i][1];
		e2e_want_row(g, "sdr-elist", r->out, rows[i], 5);
	}

	r = e2e_ok(g, "sdr-info");
	e2e_want(g, "sdr-info", r->out, "SDR Version", "0x51");
	/* The MC locator, 3 sensors, the locator of FRU 1. */
	e2e_want(g, "sdr-info", r->out, "Record Count", "5");
	e2e_want(g, "sdr-info", r->out, "Free Space", "none (full)");

	r = e2e_ok(g, "sdr-get-cpu");
	e2e_want(g, "sdr-get-cpu", r->out, "Sensor ID", "CPU Temp (0x1)");
	snprintf(want, sizeof(want), "%s (Processor)",
	    e2e_conf(sf, "sensor CPU Temp", "entity"));
	e2e_want(g, "sdr-get-cpu", r->out, "Entity ID", want);
	snprintf(want, sizeof(want), "%d (+/- 0) degrees C", plan.cpu_temp);
	e2e_want(g, "sdr-get-cpu", r->out, "Sensor Reading", want);
	e2e_want(g, "sdr-get-cpu", r->out, "Status", "ok");
#define E2E_THRESHOLD(check, sec, key, label) do {			\
	snprintf(want, sizeof(want), "%.3f",				\
	    strtod(e2e_conf(sf, sec, key), NULL));			\
	e2e_want(g, check, r->out, label, want);			\
} while (0)
	E2E_THRESHOLD("sdr-get-cpu", "sensor CPU Temp", "unr",
	    "Upper non-recoverable");
	E2E_THRESHOLD("sdr-get-cpu", "sensor CPU Temp", "ucr",
	    "Upper critical");
	E2E_THRESHOLD("sdr-get-cpu", "sensor CPU Temp", "unc",
	    "Upper non-critical");
	E2E_THRESHOLD("sdr-get-cpu", "sensor CPU Temp", "lnc",
	    "Lower non-critical");
	E2E_THRESHOLD("sdr-get-cpu", "sensor CPU Temp", "hysteresis",
	    "Positive Hysteresis");
	r = e2e_ok(g, "sdr-get-12v");
	e2e_want(g, "sdr-get-12v", r->out, "Sensor ID", "12V (0x2)");
	snprintf(want, sizeof(want), "%.3f (+/- 0) Volts",
	    plan.p12v_dv / 10.0);
	e2e_want(g, "sdr-get-12v", r->out, "Sensor Reading", want);
	E2E_THRESHOLD("sdr-get-12v", "sensor 12V", "nominal",
	    "Nominal Reading");
	E2E_THRESHOLD("sdr-get-12v", "sensor 12V", "ucr", "Upper critical");
	E2E_THRESHOLD("sdr-get-12v", "sensor 12V", "unc",
	    "Upper non-critical");
	E2E_THRESHOLD("sdr-get-12v", "sensor 12V", "lcr", "Lower critical");
	E2E_THRESHOLD("sdr-get-12v", "sensor 12V", "lnc",
	    "Lower non-critical");
#undef E2E_THRESHOLD
	e2e_note("%s sdr: list/elist (%s, %s, %s: this run's sources; "
	    "numbers, entities), info (0x51, 5 records, full), get CPU Temp "
	    "and 12V (readings, thresholds, nominal as configured)", g->tag,
	    cpu, v12, fan);
}

/* The fields of one device in fru print, from its description (.ini). */
static void
e2e_assert_fru_fields(const struct e2e_guest *g, const char *check,
    const char *out, const char *ini)
{
	static const struct {
		const char	*section, *key, *label;
	} map[] = {
		{ "chassis", "part_number", "Chassis Part Number" },
		{ "chassis", "serial_number", "Chassis Serial" },
		{ "board", "manufacturer", "Board Mfg" },
		{ "board", "product_name", "Board Product" },
		{ "board", "serial_number", "Board Serial" },
		{ "board", "part_number", "Board Part Number" },
		{ "board", "extra", "Board Extra" },
		{ "product", "manufacturer", "Product Manufacturer" },
		{ "product", "product_name", "Product Name" },
		{ "product", "part_number", "Product Part Number" },
		{ "product", "version", "Product Version" },
		{ "product", "serial_number", "Product Serial" },
		{ "product", "asset_tag", "Product Asset Tag" },
	};
	char	val[128];
	size_t	i;
	int	n = 0;

	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (e2e_ini(ini, map[i].section, map[i].key, val,
		    sizeof(val)) == 0) {
			e2e_want(g, check, out, map[i].label, val);
			n++;
		}
	cr_assert_geq(n, 4, "%s: only %d fields in %s", g->tag, n, ini);
}

/*
 * fru: print (both devices' fields as their descriptions in sdr-fru/
 * say), read 1 (the bytes of conf/sdr-fru/fru1.bin), write 1 with this
 * run's image, then print 1 shows its fields and the handler's file
 * holds it.
 */
static void
e2e_assert_fru(const struct e2e_guest *g)
{
	const char		*src = e2e_env("IPMI_SRCDIR");
	const struct e2e_result	*r;
	const char		*dev1;
	char			 path[PATH_MAX], want[128], hex[4];
	uint8_t			 img[1024], now[1024];
	ssize_t			 n, i;
	size_t			 o;
	char			*bytes;

	r = e2e_ok(g, "fru-print");
	dev1 = strstr(r->out, "FRU Device Description : ");
	cr_assert(dev1 != NULL, "%s fru print:\n%s", g->tag, r->out);
	e2e_want(g, "fru-print", r->out, "FRU Device Description",
	    "Builtin FRU Device (ID 0)");
	dev1 = strstr(dev1 + 1, "FRU Device Description : ");
	cr_assert(dev1 != NULL, "%s fru print: one device:\n%s", g->tag,
	    r->out);
	snprintf(want, sizeof(want), "%s (ID 1)",
	    e2e_conf("sdr-fru-handler.conf", "fru 1", "name"));
	e2e_want(g, "fru-print", dev1, "FRU Device Description", want);
	{
		/* Device 0's fields, before device 1's start. */
		char	*d0 = strndup(r->out, (size_t)(dev1 - r->out));

		cr_assert(d0 != NULL);
		e2e_assert_fru_fields(g, "fru-print", d0, "sdr-fru/fru0.ini");
		free(d0);
	}
	e2e_assert_fru_fields(g, "fru-print", dev1, "sdr-fru/fru1.ini");

	r = e2e_ok(g, "fru-read-1");
	snprintf(path, sizeof(path), "%s/conf/sdr-fru/fru1.bin", src);
	n = e2e_read_bytes(path, img, sizeof(img));
	cr_assert_gt(n, 0, "%s", path);
	snprintf(want, sizeof(want), "%zd bytes", n);
	e2e_want(g, "fru-read-1", r->out, "Fru Size", want);
	r = e2e_ok(g, "fru-read-1-bytes");
	cr_assert((bytes = malloc((size_t)n * 3 + 1)) != NULL);
	for (o = 0, i = 0; r->out[o] != '\0'; o++)
		if (isxdigit((unsigned char)r->out[o]))
			bytes[i++] = r->out[o];
	bytes[i] = '\0';
	for (i = 0; i < n; i++) {
		snprintf(hex, sizeof(hex), "%02x", img[i]);
		cr_assert(strncmp(bytes + 2 * i, hex, 2) == 0, "%s fru read 1: "
		    "byte %zd is %.2s, %s has %s", g->tag, i, bytes + 2 * i,
		    path, hex);
	}
	cr_assert_eq(strlen(bytes), (size_t)n * 2, "%s fru read 1: %zu "
	    "bytes, want %zd", g->tag, strlen(bytes) / 2, n);
	free(bytes);

	r = e2e_ok(g, "fru-write-1");
	e2e_want(g, "fru-write-1", r->out, "Size to Write", "256 bytes");
	r = e2e_ok(g, "fru-print-1");
	e2e_want(g, "fru-print-1", r->out, "Board Mfg", plan.fru_mfg);
	e2e_want(g, "fru-print-1", r->out, "Board Product", plan.fru_product);
	e2e_want(g, "fru-print-1", r->out, "Board Serial", plan.fru_serial);
	e2e_want(g, "fru-print-1", r->out, "Board Part Number",
	    plan.fru_part);
	snprintf(path, sizeof(path), "%s/sdr-fru/fru1.bin", confdir);
	n = e2e_read_bytes(path, now, sizeof(now));
	cr_assert(n == (ssize_t)sizeof(plan.fru_new) &&
	    memcmp(now, plan.fru_new, sizeof(plan.fru_new)) == 0,
	    "%s: %s does not hold the image fru write 1 sent", g->tag, path);
	e2e_note("%s fru: print (devices 0 and 1, fields as in fru0.ini and "
	    "fru1.ini), read 1 = conf/sdr-fru/fru1.bin, write 1 (ipmi-fru-"
	    "build image) -> print 1 shows '%s', '%s', '%s', '%s', and the "
	    "handler's file holds it", g->tag, plan.fru_mfg,
	    plan.fru_product, plan.fru_serial, plan.fru_part);
}

/*
 * The capture of the whole run, decoded by stock tshark: the driver's
 * probe, every handler's commands, the stall and the killed handler's
 * fallbacks, the event buffer reads that followed the events, and one
 * response for every request.
 */
static void
e2e_assert_trace(const struct e2e_guest *g, const char *pcap)
{
	static const char *const answered[] = {
		"Get Device ID", "Get BMC Global Enables",
		"Set BMC Global Enables", "Clear Message Flags",
		"Get Channel Info", "Get Device GUID", "Get Message Flags",
		"Read Event Message Buffer", "Get Self Test Results",
		"Get System GUID", "Get NetFn Support", "Get Command Support",
		"Get Chassis Status", "Chassis Identify",
		"Set System Boot Options", "Get System Boot Options",
		"Get POH Counter", "Get System Restart Cause",
		"Platform Event", "Get SEL Info", "Get SEL Allocation Info",
		"Reserve SEL", "Get SEL Entry", "Delete SEL Entry",
		"Clear SEL", "Get SEL Time", "Set SEL Time",
		"Get SDR Repository Info", "Reserve SDR Repository",
		"Get SDR", "Get Sensor Reading",
		"Get FRU Inventory Area Info", "Read FRU Data",
		"Write FRU Data",
	};
	char	*text = e2e_tshark(pcap);
	char	 req[96], rsp[128];
	size_t	 i;
	int	 nreq, nrsp, nread;

	for (i = 0; i < sizeof(answered) / sizeof(answered[0]); i++) {
		snprintf(req, sizeof(req), "Req, %s\n", answered[i]);
		snprintf(rsp, sizeof(rsp), "Rsp, %s, Command Completed "
		    "Normally (00h)\n", answered[i]);
		cr_assert(strstr(text, req) != NULL && strstr(text, rsp) !=
		    NULL, "%s: tshark shows no '%s' answered 00h (%s/"
		    "tshark.txt)", g->tag, answered[i], env.dir);
	}
	cr_assert(strstr(text, "Rsp, Chassis Control, Invalid data field in "
	    "Request (cch)") != NULL, "%s: no refused power on in the trace",
	    g->tag);
	cr_assert(strstr(text, "(c3h)") != NULL && strstr(text, "(ceh)") !=
	    NULL, "%s: the stall (0xc3) or the killed handler (0xce) is "
	    "missing from the trace", g->tag);
	/* After each event, the driver found the buffer full. */
	nread = itest_count(text, "Rsp, Read Event Message Buffer, "
	    "Command Completed Normally (00h)");
	cr_assert_geq(nread, 2, "%s: Read Event Message Buffer answered 00h "
	    "%d times, want one per event (2)", g->tag, nread);
	/* The capture ends while the guest knocks at the rates' gate, and
	 * the App handler asks the broker once a second: a request or two
	 * may miss their response. */
	nreq = itest_count(text, " Req, ");
	nrsp = itest_count(text, " Rsp, ");
	cr_assert(nrsp <= nreq && nrsp + 2 >= nreq, "%s: the capture has %d "
	    "requests and %d responses", g->tag, nreq, nrsp);
	e2e_note("%s trace (boot to the rates): tshark decodes %d requests "
	    "and %d responses, "
	    "%zu command names checked answered 00h (Get Device ID, Get BMC "
	    "Global Enables, Get Channel Info from the probe ...), Read Event "
	    "Message Buffer answered 00h %d times (the 2 events), 0xc3, 0xce "
	    "and 0xcc where expected", g->tag, nreq, nrsp,
	    sizeof(answered) / sizeof(answered[0]), nread);
	free(text);
}

static void
e2e_broker(const char *iface, const char *tag)
{
	const struct e2e_result	*r;
	uint8_t			 devid[64];
	size_t			 n;
	uint64_t		 timeouts, gone, reqs;
	static char		 fw[65536];
	char			 pcap[PATH_MAX];
	time_t			 t0, t1;
	int			 port;

	guest.iface = iface;
	guest.tag = tag;
	if (e2e_env("E2E_BUSDRV_VM") == NULL)
		cr_skip_test("no vm bus driver (bus-drivers/vm.c) in this "
		    "build yet");
	cr_assert((port = e2e_free_port()) > 0);
	e2e_start_broker(port);
	e2e_conf_prepare(port);
	e2e_start_handlers();
	n = e2e_wait_support(devid, E2E_SUPPORT_ALL);
	timeouts = e2e_counter("fallback.timeout");
	gone = e2e_counter("fallback.disconnected");
	reqs = e2e_counter("requests");
	snprintf(pcap, sizeof(pcap), "%s/trace.pcap", env.dir);
	e2e_trace_start(pcap);

	guest.mode = "broker";
	guest.fru_hex = plan.fru_hex;
	guest.staller = &staller;
	guest.doomed = &doomed;
	guest.on_rates = e2e_rates_open;
	t0 = time(NULL);
	e2e_boot(&guest, port);
	t1 = time(NULL);
	if (trace_pid > 0)
		e2e_trace_stop();
	e2e_assert_finished(&guest);
	cr_assert(guest.rates_seen, "%s: the guest never reached its rates",
	    tag);
	r = e2e_ok(&guest, "rate-gate");
	e2e_note("%s: capture stopped at the rates; the guest's ipmitool got "
	    "0xc1 %d times at the gate before it opened", tag,
	    itest_count(r->out, "rsp=0xc1"));

	/* The App handler turns the guest's receive-interrupt enable into
	 * ENABLE_IRQ on the vm bus, so the stock driver is interrupt
	 * driven, not polling. */
	cr_assert_gt(e2e_assert_driver(&guest), 0, "%s: the guest's IPMI "
	    "driver took no interrupts", tag);
	e2e_assert_mc(&guest);
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

	/* The table as it stood during firewall info: doomed was gone, the
	 * gate not there yet. */
	r = e2e_res(&guest, "firewall-info");
	e2e_firewall_expect(table, fw, sizeof(fw));
	cr_assert_eq(r->rc, 0, "%s firewall info: %s", tag, r->out);
	cr_assert_str_eq(r->out, fw, "%s firewall info:\n%s\nregistered:\n%s",
	    tag, r->out, fw);
	e2e_note("%s firewall info: %d LUN/netfn pairs, as registered",
	    tag, itest_count(r->out, "support:"));

	e2e_assert_chassis(&guest);
	e2e_assert_sel(&guest, t0, t1);
	e2e_assert_sdr(&guest);
	e2e_assert_fru(&guest);
	e2e_assert_trace(&guest, pcap);

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
	cr_assert(guest.ended, "the BT guest never finished its checks");
}

Test(e2e, kcs_guest_sees_the_broker_through_the_stock_linux_driver)
{
	e2e_broker("kcs", "broker-kcs");
	cr_assert(guest.ended, "the KCS guest never finished its checks");
}

/* ---- chassis power off / reset: the machine stops or resets ---- */

/*
 * A short boot whose guest prints a heartbeat every 100 ms in the
 * background and sends `chassis power off` (or `reset`). The BMC (the
 * chassis handler, through the vm bus's control) must answer 00h on the
 * bus (the capture shows it) and act: power off makes QEMU exit within
 * E2E_STOP_MAX_MS of the handler logging the control; reset must make
 * the guest boot again (QEMU runs without -no-reboot for it: /init starts
 * a second time). The broker's log tells which control it passed on.
 *
 * ipmitool in the guest must also have got the answer before its machine
 * stopped (it printed its result line): the chassis handler pauses
 * between the answer and the control for exactly that.
 */
static void
e2e_power(const char *iface, const char *tag, bool reset)
{
	const char		*op = reset ? "hard_reset" : "power_down";
	const char		*what = reset ? "reset" : "off";
	const struct e2e_result	*r;
	char			 want[64], pcap[PATH_MAX], *text;
	int			 port, got;

	guest.iface = iface;
	guest.tag = tag;
	if (e2e_env("E2E_BUSDRV_VM") == NULL)
		cr_skip_test("no vm bus driver (bus-drivers/vm.c) in this "
		    "build yet");
	cr_assert((port = e2e_free_port()) > 0);
	e2e_start_broker(port);
	e2e_conf_prepare(port);
	e2e_handler_start("IPMI_HANDLER_APP", "app-handler.conf", "app");
	e2e_handler_start("IPMI_HANDLER_CHASSIS", "chassis-handler.conf",
	    "chassis");
	cr_assert_eq(itest_wait_regs(&env, "chassis", 9, 10000, &got), 0,
	    "the chassis handler registered %d commands", got);
	cr_assert_eq(itest_wait_regs(&env, "app", ITEST_APP_NCMDS, 10000,
	    &got), 0, "the App handler registered %d commands", got);
	snprintf(pcap, sizeof(pcap), "%s/trace.pcap", env.dir);
	e2e_trace_start(pcap);

	guest.mode = reset ? "power-reset" : "power-off";
	guest.answer = reset ? "chassis-power-reset" : "chassis-power-off";
	guest.reboot = reset;
	snprintf(guest.act_log, sizeof(guest.act_log), "%s/chassis.log",
	    env.dir);
	snprintf(want, sizeof(want), "%s on bus host", op);
	guest.act_line = want;
	e2e_boot(&guest, port);
	e2e_trace_stop();

	/* The BMC answered on the bus, then acted. */
	text = e2e_tshark(pcap);
	cr_assert(strstr(text, "Rsp, Chassis Control, Command Completed "
	    "Normally (00h)") != NULL, "%s: no Chassis Control answered 00h "
	    "in the capture (%s/tshark.txt)", tag, env.dir);
	free(text);
	cr_assert_eq(itest_wait_file(guest.act_log, want, 5000), 0, "%s: the "
	    "chassis handler never logged '%s' (%s)", tag, want,
	    guest.act_log);
	cr_assert_geq(guest.beats, 1, "%s: no heartbeat from the guest", tag);
	cr_assert(e2e_has(&guest, guest.answer), "%s: the guest never "
	    "printed ipmitool's chassis power %s answer: the machine %s "
	    "before its driver read the answer", tag, what,
	    reset ? "reset" : "stopped");
	r = e2e_res(&guest, guest.answer);
	cr_assert_eq(r->rc, 0, "%s chassis power %s: exit %d: %s", tag, what,
	    r->rc, r->out);
	snprintf(want, sizeof(want), "Chassis Power Control: %s\n",
	    reset ? "Reset" : "Down/Off");
	cr_assert_str_eq(r->out, want, "%s chassis power %s", tag, what);
	cr_assert(guest.answer_ms >= 0 && (reset || guest.stop_ms -
	    guest.answer_ms <= E2E_STOP_MAX_MS), "%s: the guest still ran %ld "
	    "ms after printing the power off answer", tag,
	    guest.stop_ms - guest.answer_ms);
	e2e_note("%s: the guest printed the power %s answer, %d heartbeats "
	    "after it", tag, what, guest.beats_after);
	cr_assert_geq(guest.act_ms, 0, "%s: no control logged", tag);
	if (!reset) {
		r = e2e_res(&guest, "chassis-power-status");
		cr_assert_str_eq(r->out, "Chassis Power is on\n", "%s", tag);
		cr_assert(!guest.stopped, "%s: the guest still ran %ld ms "
		    "after the handler's power off (%d heartbeats)", tag,
		    guest.wall_ms - guest.act_ms, guest.beats);
		cr_assert_eq(guest.status, 0, "%s: QEMU exit %d", tag,
		    guest.status);
		cr_assert_leq(guest.stop_ms - guest.act_ms, E2E_STOP_MAX_MS);
		cr_assert_eq(guest.boots, 1, "%s: the guest booted again", tag);
		cr_assert_eq(itest_file_count(env.log, "bus host: power off "
		    "asked by handler chassis"), 1, "%s: the broker did not "
		    "log the chassis handler's power off (%s)", tag, env.log);
		cr_assert_eq(itest_file_count(env.log, "reset asked by"), 0,
		    "%s: the broker passed on a reset (%s)", tag, env.log);
		e2e_note("%s chassis power off: QEMU exited %ld ms after the "
		    "chassis handler logged the power off (host polling every "
		    "20 ms); %d heartbeats from the guest before", tag,
		    guest.stop_ms - guest.act_ms, guest.beats);
	} else {
		cr_assert_geq(guest.boots, 2, "%s: the guest did not boot "
		    "again after the reset (QEMU exit %d after %ld ms)", tag,
		    guest.status, guest.wall_ms);
		cr_assert_eq(itest_file_count(env.log, "bus host: reset asked "
		    "by handler chassis"), 1, "%s: the broker did not log the "
		    "chassis handler's reset (%s)", tag, env.log);
		cr_assert_eq(itest_file_count(env.log, "power off asked by"),
		    0, "%s: the broker passed on a power off (%s)", tag,
		    env.log);
		/* QEMU 7.2 does not report this reset back on the link. */
		e2e_note("%s chassis power reset: the guest's /init ran again "
		    "%ld ms after the chassis handler logged the reset; %d "
		    "heartbeats before; QEMU %s the reset to the BMC", tag,
		    guest.stop_ms - guest.act_ms, guest.beats,
		    itest_file_count(env.log, "bus host: host reset") > 0 ?
		    "reported" : "did not report");
	}
	cr_assert_eq(itest_daemon_stop(&env, 5000), 0,
	    "the daemon did not exit 0 on SIGTERM (log %s)", env.log);
	ITEST_ASSERT_LOGS_CLEAN(&env);
}

Test(e2e, bt_chassis_power_off_stops_the_guest)
{
	e2e_power("bt", "power-off-bt", false);
	cr_assert_geq(guest.act_ms, 0, "no power off logged");
}

Test(e2e, kcs_chassis_power_off_stops_the_guest)
{
	e2e_power("kcs", "power-off-kcs", false);
	cr_assert_geq(guest.act_ms, 0, "no power off logged");
}

Test(e2e, bt_chassis_power_reset_reboots_the_guest)
{
	e2e_power("bt", "power-reset-bt", true);
	cr_assert_geq(guest.boots, 2, "the guest did not boot again");
}

Test(e2e, kcs_chassis_power_reset_reboots_the_guest)
{
	e2e_power("kcs", "power-reset-kcs", true);
	cr_assert_geq(guest.boots, 2, "the guest did not boot again");
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
	guest.mode = "sim";
	e2e_boot(&guest, port);
	e2e_assert_finished(&guest);

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
	cr_assert(guest.ended, "the BT guest never finished its checks");
}

Test(e2e, kcs_guest_sees_ipmi_sim_the_harness_baseline)
{
	e2e_sim("kcs", "ipmi-sim-kcs");
	cr_assert(guest.ended, "the KCS guest never finished its checks");
}
