/* SPDX-License-Identifier: MIT */
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
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
#include <unistd.h>

#include "bench.h"

/*
 * Processes of a benchmark run. Every child dies with ipmi-bench
 * (PR_SET_PDEATHSIG), keeps only the fds it is given, and is stopped by
 * pid; nothing is ever killed by name. Each run works in one temporary
 * directory (configs, sockets, logs), removed at the end unless --keep.
 */

char	bench_dir[64];

int
bench_dir_make(void)
{
	snprintf(bench_dir, sizeof(bench_dir), "/tmp/ipmi-bench.XXXXXX");
	if (mkdtemp(bench_dir) == NULL) {
		bench_dir[0] = '\0';
		return -errno;
	}
	return 0;
}

static int
bench_rm(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)f;
	if (flag == FTW_DP)
		(void)rmdir(path);
	else
		(void)unlink(path);
	return 0;
}

void
bench_dir_remove(void)
{
	if (bench_dir[0] != '\0')
		(void)nftw(bench_dir, bench_rm, 16, FTW_DEPTH | FTW_PHYS);
	bench_dir[0] = '\0';
}

/* Close every fd above 2 that is not in keep[]. */
static void
bench_close_others(const int *keep, size_t nkeep)
{
	DIR		*d;
	struct dirent	*de;
	int		 fd, dfd, i;
	bool		 kept;

	if ((d = opendir("/proc/self/fd")) == NULL)
		return;
	dfd = dirfd(d);
	while ((de = readdir(d)) != NULL) {
		fd = atoi(de->d_name);
		if (de->d_name[0] == '.' || fd <= 2 || fd == dfd)
			continue;
		kept = false;
		for (i = 0; i < (int)nkeep; i++)
			if (keep[i] == fd)
				kept = true;
		if (!kept)
			(void)close(fd);
	}
	closedir(d);
}

pid_t
bench_fork(int (*fn)(void *), void *arg, const int *keep, size_t nkeep)
{
	pid_t	pid;

	fflush(NULL);
	if ((pid = fork()) != 0)
		return pid;
	(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	bench_close_others(keep, nkeep);
	_exit(fn(arg));
}

pid_t
bench_spawn(char *const argv[], const char *logpath, const int *keep,
    size_t nkeep)
{
	size_t	i;
	pid_t	pid;
	int	fd;

	fflush(NULL);
	if ((pid = fork()) != 0)
		return pid;
	(void)setpgid(0, 0);
	(void)prctl(PR_SET_PDEATHSIG, SIGTERM);
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	if ((fd = open(logpath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
	    0644)) >= 0) {
		(void)dup2(fd, 1);
		(void)dup2(fd, 2);
	}
	if ((fd = open("/dev/null", O_RDONLY)) >= 0)
		(void)dup2(fd, 0);
	bench_close_others(keep, nkeep);
	for (i = 0; i < nkeep; i++)
		(void)fcntl(keep[i], F_SETFD, 0);
	execvp(argv[0], argv);
	fprintf(stderr, "ipmi-bench: exec %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

bool
bench_exited(pid_t pid, int *status)
{
	return waitpid(pid, status, WNOHANG) == pid;
}

void
bench_stop(pid_t pid, int ms)
{
	int	status, waited;

	if (pid <= 0)
		return;
	(void)kill(pid, SIGTERM);
	for (waited = 0; waited < ms; waited += 10) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return;
		(void)poll(NULL, 0, 10);
	}
	(void)kill(-pid, SIGKILL);
	(void)kill(pid, SIGKILL);
	(void)waitpid(pid, &status, 0);
}

pid_t
bench_find_child(pid_t parent, const char *what)
{
	DIR		*d;
	struct dirent	*de;
	char		 path[64], buf[4096], *p;
	pid_t		 pid, found = -1;
	ssize_t		 n;
	int		 fd, ppid;

	if ((d = opendir("/proc")) == NULL)
		return -1;
	while (found < 0 && (de = readdir(d)) != NULL) {
		if ((pid = atoi(de->d_name)) <= 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
			continue;
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n <= 0)
			continue;
		buf[n] = '\0';
		/* pid (comm) state ppid: comm may hold anything but ')'. */
		if ((p = strrchr(buf, ')')) == NULL ||
		    sscanf(p + 1, " %*c %d", &ppid) != 1 || ppid != parent)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
			continue;
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n <= 0)
			continue;
		for (p = buf; p < buf + n; p++)
			if (*p == '\0')
				*p = ' ';
		buf[n] = '\0';
		if (strstr(buf, what) != NULL)
			found = pid;
	}
	closedir(d);
	return found;
}

long
bench_proc_kib(pid_t pid, const char *key)
{
	FILE	*f;
	char	 path[64], line[256];
	size_t	 klen = strlen(key);
	long	 v = -1;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if ((f = fopen(path, "re")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
			v = strtol(line + klen + 1, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

uint64_t
bench_cpu_ns(const pid_t *pids, size_t n, uint64_t *each)
{
	unsigned long long	v;
	uint64_t		sum = 0;
	char			path[64];
	size_t			i;
	FILE			*f;

	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "/proc/%d/schedstat",
		    (int)pids[i]);
		v = 0;
		if ((f = fopen(path, "re")) != NULL) {
			if (fscanf(f, "%llu", &v) != 1)
				v = 0;
			fclose(f);
		}
		sum += v;
		if (each != NULL)
			each[i] = v;
	}
	return sum;
}

int
bench_read_line(int fd, char *buf, size_t size, int ms)
{
	struct pollfd	pfd = { fd, POLLIN, 0 };
	uint64_t	end = bench_now_ns() + (uint64_t)ms * 1000000;
	size_t		len = 0;
	ssize_t		n;
	int		left;

	while (len + 1 < size) {
		left = (int)(((int64_t)end - (int64_t)bench_now_ns()) /
		    1000000);
		if (left <= 0 || poll(&pfd, 1, left) <= 0)
			return -1;
		if ((n = read(fd, buf + len, 1)) <= 0)
			return -1;
		if (buf[len] == '\n') {
			buf[len] = '\0';
			return 0;
		}
		len++;
	}
	buf[len] = '\0';
	return 0;
}

/* 1,000 handler connections need about 4,000 fds in their process. */
void
bench_raise_nofile(void)
{
	struct rlimit	rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

void
bench_log(const struct bench_opts *o, const char *fmt, ...)
{
	va_list	ap;

	if (o->verbose == 0)
		return;
	va_start(ap, fmt);
	fprintf(stderr, "ipmi-bench: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
}
