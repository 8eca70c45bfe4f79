/* SPDX-License-Identifier: MIT */
#include <sys/inotify.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "control.pb-c.h"
#include "wire.h"
#include "itest.h"

/*
 * Process, file and ipmi-ctl helpers of the integration tests. See
 * itest.h for the model; the raw protocol clients live in rawh.c.
 */

#define ITEST_ARGS_MAX	32

int64_t
itest_now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
itest_pause_ms(int ms)
{
	int64_t	end = itest_now_ms() + ms, left;

	while ((left = end - itest_now_ms()) > 0)
		(void)poll(NULL, 0, (int)left);
}

const char *
itest_bin(const char *var)
{
	const char	*p = getenv(var);

	return p != NULL && *p != '\0' ? p : NULL;
}

int
itest_env_init(struct itest_env *e)
{
	memset(e, 0, sizeof(*e));
	e->pid = -1;
	snprintf(e->dir, sizeof(e->dir), "/tmp/ipmi-itest-XXXXXX");
	if (mkdtemp(e->dir) == NULL)
		return -1;
	/* Handlers running as another uid must reach the sockets. */
	if (chmod(e->dir, 0755) < 0)
		return -1;
	snprintf(e->rundir, sizeof(e->rundir), "%s/run", e->dir);
	snprintf(e->conf, sizeof(e->conf), "%s/broker.conf", e->dir);
	snprintf(e->log, sizeof(e->log), "%s/broker.log", e->dir);
	snprintf(e->hsock, sizeof(e->hsock), "%s/handler.sock", e->rundir);
	snprintf(e->csock, sizeof(e->csock), "%s/control.sock", e->rundir);
	return 0;
}

static int
itest_rm_one(const char *path, const struct stat *st, int flag,
    struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path) < 0 && errno != ENOENT ? -1 : 0;
}

void
itest_env_cleanup(struct itest_env *e)
{
	if (e == NULL || e->dir[0] == '\0')
		return;
	if (e->pid > 0)
		(void)itest_daemon_stop(e, 3000);
	if (getenv("ITEST_KEEP") != NULL) {
		fprintf(stderr, "itest: keeping %s\n", e->dir);
		return;
	}
	(void)nftw(e->dir, itest_rm_one, 16, FTW_DEPTH | FTW_PHYS);
	e->dir[0] = '\0';
}

int
itest_write_file(const char *path, const char *text)
{
	char	tmp[PATH_MAX + 8];
	FILE	*f;
	int	r = 0;

	/* Write aside and rename, so a reader never sees half a file. */
	snprintf(tmp, sizeof(tmp), "%s.new", path);
	if ((f = fopen(tmp, "w")) == NULL)
		return -1;
	if (fputs(text, f) == EOF)
		r = -1;
	if (fclose(f) == EOF)
		r = -1;
	if (r == 0 && rename(tmp, path) < 0)
		r = -1;
	return r;
}

char *
itest_read_file(const char *path)
{
	FILE	*f;
	char	*buf = NULL;
	size_t	 len = 0, cap = 0, n;

	if ((f = fopen(path, "r")) == NULL)
		return NULL;
	for (;;) {
		if (cap - len < 4096) {
			char *p = realloc(buf, cap + 65536);

			if (p == NULL) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = p;
			cap += 65536;
		}
		n = fread(buf + len, 1, cap - len - 1, f);
		len += n;
		if (n == 0)
			break;
	}
	fclose(f);
	buf[len] = '\0';
	return buf;
}

int
itest_write_config(struct itest_env *e, const char *extra, ...)
{
	char	body[8192], text[8192 + 256];
	va_list	ap;

	va_start(ap, extra);
	vsnprintf(body, sizeof(body), extra != NULL ? extra : "", ap);
	va_end(ap);
	snprintf(text, sizeof(text), "[broker]\nruntime_dir = %s\n"
	    "log_level = debug\n%s", e->rundir, body);
	return itest_write_file(e->conf, text);
}

pid_t
itest_spawn(const char *logpath, char *const argv[], char *const envp_extra[])
{
	pid_t	pid, parent = getpid();
	int	fd, i;

	if ((pid = fork()) < 0)
		return -1;
	if (pid > 0) {
		/* Both sides set the group, so it exists before we signal. */
		(void)setpgid(pid, pid);
		return pid;
	}
	(void)setpgid(0, 0);
	/* Die with the test, even when its timeout SIGKILLs it. */
	(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(127);
	signal(SIGPIPE, SIG_DFL);
	if ((fd = open(logpath, O_WRONLY | O_CREAT | O_APPEND, 0644)) < 0)
		_exit(127);
	if (dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
		_exit(127);
	if (fd > 2)
		close(fd);
	fd = open("/dev/null", O_RDONLY);
	if (fd >= 0 && fd != 0) {
		dup2(fd, 0);
		close(fd);
	}
	for (i = 0; envp_extra != NULL && envp_extra[i] != NULL; i++)
		putenv(envp_extra[i]);
	execv(argv[0], argv);
	fprintf(stderr, "itest: exec %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

static int
itest_status_code(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return -1;
}

int
itest_wait_pid(pid_t pid, int timeout_ms)
{
	int64_t	end = itest_now_ms() + timeout_ms;
	int	status, step = 1;
	pid_t	r;

	for (;;) {
		r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			return itest_status_code(status);
		if (r < 0 && errno != EINTR)
			return -1;
		if (itest_now_ms() >= end)
			return -1;
		/* Back off from 1 ms to 20 ms: exits are usually quick. */
		itest_pause_ms(step);
		if (step < 20)
			step *= 2;
	}
}

int
itest_stop_pid(pid_t pid, int timeout_ms)
{
	int	code;

	if (pid <= 0)
		return -1;
	(void)kill(pid, SIGTERM);
	code = itest_wait_pid(pid, timeout_ms);
	/* Whatever is left in its group (a broker child) goes too. */
	(void)kill(-pid, SIGKILL);
	if (code == -1) {
		(void)kill(pid, SIGKILL);
		(void)itest_wait_pid(pid, 2000);
	}
	return code;
}

int
itest_ctl_ready(const char *csock, int timeout_ms)
{
	struct rawc	c;

	if (rawc_connect(&c, csock, timeout_ms) < 0)
		return -1;
	rawc_close(&c);
	return 0;
}

int
itest_daemon_start(struct itest_env *e, int timeout_ms)
{
	char	*argv[] = { (char *)itest_bin("IPMI_BROKERD"), "-c", e->conf,
		    NULL };

	if (argv[0] == NULL)
		return -1;
	if ((e->pid = itest_spawn(e->log, argv, NULL)) < 0)
		return -1;
	if (itest_ctl_ready(e->csock, timeout_ms) < 0)
		return -1;
	return 0;
}

int
itest_daemon_stop(struct itest_env *e, int timeout_ms)
{
	int	code;

	if (e->pid <= 0)
		return -1;
	code = itest_stop_pid(e->pid, timeout_ms);
	e->pid = -1;
	return code;
}

pid_t
itest_handler_start(struct itest_env *e, const char *binvar,
    const char *conf, const char *tag)
{
	static char	envbuf[256];
	char		cpath[PATH_MAX], log[192];
	char		*argv[] = { (char *)itest_bin(binvar), "-c", cpath,
			    NULL };
	char		*envp[] = { envbuf, NULL };
	const char	*src = itest_bin("IPMI_SRCDIR");

	if (argv[0] == NULL || src == NULL)
		return -1;
	snprintf(cpath, sizeof(cpath), "%s/conf/%s", src, conf);
	snprintf(log, sizeof(log), "%s/%s.log", e->dir, tag);
	/* putenv() keeps the pointer: the child has its own copy anyway. */
	snprintf(envbuf, sizeof(envbuf), "IPMI_BROKER_SOCKET=%s", e->hsock);
	return itest_spawn(log, argv, envp);
}

/* Fork argv with stdout/stderr on pipes. */
static int
itest_run_start(struct itest_run *r, char *const argv[])
{
	int	out[2], err[2];
	pid_t	pid, parent = getpid();

	memset(r, 0, sizeof(*r));
	r->pid = -1;
	r->outfd = r->errfd = -1;
	r->status = -1;
	if (pipe2(out, O_CLOEXEC) < 0)
		return -1;
	if (pipe2(err, O_CLOEXEC) < 0) {
		close(out[0]);
		close(out[1]);
		return -1;
	}
	r->start_ms = itest_now_ms();
	if ((pid = fork()) < 0) {
		close(out[0]);
		close(out[1]);
		close(err[0]);
		close(err[1]);
		return -1;
	}
	if (pid == 0) {
		(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		signal(SIGPIPE, SIG_DFL);
		if (dup2(out[1], 1) < 0 || dup2(err[1], 2) < 0)
			_exit(127);
		execv(argv[0], argv);
		fprintf(stderr, "itest: exec %s: %s\n", argv[0],
		    strerror(errno));
		_exit(127);
	}
	close(out[1]);
	close(err[1]);
	r->pid = pid;
	r->outfd = out[0];
	r->errfd = err[0];
	return 0;
}

static void
itest_run_drain(int *fd, char *buf, size_t *len)
{
	ssize_t	n;

	n = read(*fd, buf + *len, ITEST_OUT_MAX - 1 - *len);
	if (n > 0) {
		*len += (size_t)n;
		buf[*len] = '\0';
		if (*len < ITEST_OUT_MAX - 1)
			return;
	} else if (n < 0 && errno == EINTR)
		return;
	close(*fd);
	*fd = -1;
}

int
itest_run_finish(struct itest_run *r, int timeout_ms)
{
	struct pollfd	pfd[2];
	int64_t		end = itest_now_ms() + timeout_ms, left;
	int		n, code;

	while (r->outfd >= 0 || r->errfd >= 0) {
		if ((left = end - itest_now_ms()) <= 0)
			break;
		n = 0;
		if (r->outfd >= 0) {
			pfd[n].fd = r->outfd;
			pfd[n++].events = POLLIN;
		}
		if (r->errfd >= 0) {
			pfd[n].fd = r->errfd;
			pfd[n++].events = POLLIN;
		}
		if (poll(pfd, (nfds_t)n, (int)left) <= 0)
			continue;
		for (n--; n >= 0; n--) {
			if (pfd[n].revents == 0)
				continue;
			if (pfd[n].fd == r->outfd)
				itest_run_drain(&r->outfd, r->out,
				    &r->outlen);
			else
				itest_run_drain(&r->errfd, r->err,
				    &r->errlen);
		}
	}
	left = end - itest_now_ms();
	code = itest_wait_pid(r->pid, left > 0 ? (int)left : 0);
	if (code == -1) {
		(void)kill(r->pid, SIGKILL);
		(void)itest_wait_pid(r->pid, 2000);
	}
	if (r->outfd >= 0)
		close(r->outfd);
	if (r->errfd >= 0)
		close(r->errfd);
	r->outfd = r->errfd = -1;
	r->status = code;
	r->elapsed_ms = (long)(itest_now_ms() - r->start_ms);
	return code;
}

static int
itest_ctl_vstart(struct itest_env *e, struct itest_run *r, va_list ap)
{
	char		*argv[ITEST_ARGS_MAX];
	const char	*a;
	int		 n = 0;

	argv[n++] = (char *)itest_bin("IPMI_CTL");
	argv[n++] = "-s";
	argv[n++] = e->csock;
	while ((a = va_arg(ap, const char *)) != NULL && n < ITEST_ARGS_MAX - 1)
		argv[n++] = (char *)a;
	argv[n] = NULL;
	if (argv[0] == NULL)
		return -1;
	return itest_run_start(r, argv);
}

int
itest_ctl(struct itest_env *e, struct itest_run *r, int timeout_ms, ...)
{
	va_list	ap;
	int	rv;

	va_start(ap, timeout_ms);
	rv = itest_ctl_vstart(e, r, ap);
	va_end(ap);
	if (rv < 0)
		return -1;
	return itest_run_finish(r, timeout_ms);
}

int
itest_ctl_start(struct itest_env *e, struct itest_run *r, ...)
{
	va_list	ap;
	int	rv;

	va_start(ap, r);
	rv = itest_ctl_vstart(e, r, ap);
	va_end(ap);
	return rv;
}

int
itest_count(const char *s, const char *needle)
{
	size_t	nl = strlen(needle);
	int	n = 0;

	if (s == NULL || nl == 0)
		return 0;
	while ((s = strstr(s, needle)) != NULL) {
		n++;
		s += nl;
	}
	return n;
}

int
itest_file_count(const char *path, const char *needle)
{
	char	*text = itest_read_file(path);
	int	 n = itest_count(text, needle);

	free(text);
	return n;
}

int
itest_wait_file(const char *path, const char *needle, int timeout_ms)
{
	return itest_wait_count(path, needle, 1, timeout_ms);
}

int
itest_wait_count(const char *path, const char *needle, int n,
    int timeout_ms)
{
	int64_t	end = itest_now_ms() + timeout_ms, left;
	struct pollfd pfd;
	char	 buf[4096];
	int	 ifd, wd = -1, found = -1;

	if ((ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) < 0)
		return -1;
	for (;;) {
		/* Watch before reading, so no write falls in between. */
		if (wd < 0)
			wd = inotify_add_watch(ifd, path, IN_MODIFY);
		if (itest_file_count(path, needle) >= n) {
			found = 0;
			break;
		}
		if ((left = end - itest_now_ms()) <= 0)
			break;
		pfd.fd = ifd;
		pfd.events = POLLIN;
		/* Until the file exists, look again every 10 ms. */
		if (poll(&pfd, 1, wd < 0 ? (left < 10 ? (int)left : 10) :
		    (int)left) > 0)
			while (read(ifd, buf, sizeof(buf)) > 0)
				;
	}
	close(ifd);
	return found;
}

/* The first sanitizer line in text. */
static int
itest_report_line(const char *text, char *line, size_t len)
{
	static const char *const marks[] = { "Sanitizer", "runtime error:" };
	const char	*p, *eol;
	size_t		 i, n;

	for (p = text; p != NULL && *p != '\0'; p = eol != NULL ? eol + 1 :
	    NULL) {
		eol = strchr(p, '\n');
		n = eol != NULL ? (size_t)(eol - p) : strlen(p);
		snprintf(line, len, "%.*s", (int)n, p);
		for (i = 0; i < sizeof(marks) / sizeof(marks[0]); i++)
			if (strstr(line, marks[i]) != NULL)
				return 0;
	}
	return -1;
}

int
itest_logs_clean(const struct itest_env *e, char *what, size_t len)
{
	struct dirent	*d;
	char		 path[PATH_MAX], line[512], *text;
	size_t		 n;
	DIR		*dir;
	int		 r = 0;

	if ((dir = opendir(e->dir)) == NULL)
		return 0;
	while (r == 0 && (d = readdir(dir)) != NULL) {
		n = strlen(d->d_name);
		if (n < 4 || strcmp(d->d_name + n - 4, ".log") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", e->dir, d->d_name);
		text = itest_read_file(path);
		if (itest_report_line(text, line, sizeof(line)) == 0) {
			snprintf(what, len, "%s: %s", d->d_name, line);
			r = -1;
		}
		free(text);
	}
	closedir(dir);
	return r;
}

/* Find "key": in js and return where its value starts. */
static const char *
itest_json_find(const char *js, const char *key)
{
	char	pat[128];

	if (js == NULL)
		return NULL;
	snprintf(pat, sizeof(pat), "\"%s\":", key);
	if ((js = strstr(js, pat)) == NULL)
		return NULL;
	return js + strlen(pat);
}

int
itest_json_u64(const char *js, const char *key, uint64_t *v)
{
	const char	*p = itest_json_find(js, key);
	char		*end;

	if (p == NULL || *p < '0' || *p > '9')
		return -1;
	*v = strtoull(p, &end, 10);
	return end == p ? -1 : 0;
}

int
itest_json_bytes(const char *js, const char *key, uint8_t *buf, size_t max,
    size_t *len)
{
	const char	*p = itest_json_find(js, key);
	char		*end;
	unsigned long	 v;

	*len = 0;
	if (p == NULL || *p != '[')
		return -1;
	for (p++; *p != ']'; p = end) {
		if (*p == ',')
			p++;
		v = strtoul(p, &end, 10);
		if (end == p || v > 255 || *len >= max)
			return -1;
		buf[(*len)++] = (uint8_t)v;
	}
	return 0;
}

int
itest_line_with(const char *s, const char *a, const char *b, char *line,
    size_t len)
{
	const char	*eol;
	size_t		 n;

	while (s != NULL && *s != '\0') {
		eol = strchr(s, '\n');
		n = eol != NULL ? (size_t)(eol - s) : strlen(s);
		if (n < len) {
			memcpy(line, s, n);
			line[n] = '\0';
			if (strstr(line, a) != NULL &&
			    (b == NULL || strstr(line, b) != NULL))
				return 0;
		}
		s = eol != NULL ? eol + 1 : NULL;
	}
	return -1;
}

int
itest_send_json(struct itest_env *e, struct itest_run *r, unsigned int *cc,
    uint8_t *data, size_t *len, ...)
{
	char		*argv[ITEST_ARGS_MAX];
	const char	*a;
	uint64_t	 v;
	va_list		 ap;
	int		 n = 0;

	argv[n++] = (char *)itest_bin("IPMI_CTL");
	argv[n++] = "-s";
	argv[n++] = e->csock;
	argv[n++] = "--json";
	argv[n++] = "send";
	va_start(ap, len);
	while ((a = va_arg(ap, const char *)) != NULL && n < ITEST_ARGS_MAX - 1)
		argv[n++] = (char *)a;
	va_end(ap);
	argv[n] = NULL;
	if (argv[0] == NULL || itest_run_start(r, argv) < 0)
		return -1;
	itest_run_finish(r, 10000);
	if (itest_json_u64(r->out, "cc", &v) < 0)
		return -1;
	*cc = (unsigned int)v;
	return itest_json_bytes(r->out, "data", data, 4096, len);
}

int
itest_counter(struct itest_env *e, const char *name, uint64_t *v)
{
	static struct itest_run	r;

	if (itest_ctl(e, &r, 10000, "--json", "stats", NULL) != 0)
		return -1;
	return itest_json_u64(r.out, name, v);
}

int
itest_status(struct itest_env *e, const char *key, uint64_t *v)
{
	static struct itest_run	r;

	if (itest_ctl(e, &r, 10000, "--json", "status", NULL) != 0)
		return -1;
	return itest_json_u64(r.out, key, v);
}

int
itest_wait_regs(struct itest_env *e, const char *name, int n,
    int timeout_ms, int *got)
{
	static struct itest_run	r;
	int64_t			end = itest_now_ms() + timeout_ms;
	char			pat[128];
	int			count = -1;

	snprintf(pat, sizeof(pat), "\"handler\":\"%s\"", name);
	for (;;) {
		if (itest_ctl(e, &r, 5000, "--json", "list", NULL) == 0) {
			count = itest_count(r.out, pat);
			if (count == n)
				break;
		}
		if (itest_now_ms() >= end) {
			if (got != NULL)
				*got = count;
			return -1;
		}
		itest_pause_ms(10);
	}
	if (got != NULL)
		*got = count;
	return 0;
}
