/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static const char	*log_procname = "ipmi-brokerd";
static int		 log_level = LOG_LVL_INFO;

void
log_init(const char *procname, int level)
{
	log_procname = procname;
	log_level = level;
	setvbuf(stderr, NULL, _IOLBF, 0);
}

void
log_setname(const char *procname)
{
	log_procname = procname;
}

void
log_setlevel(int level)
{
	log_level = level;
}

int
log_getlevel(void)
{
	return log_level;
}

int
log_level_parse(const char *s)
{
	static const char *names[] = { "error", "warning", "info", "debug" };
	int	i;

	for (i = 0; i < 4; i++)
		if (strcmp(s, names[i]) == 0)
			return i;
	if (strcmp(s, "warn") == 0)
		return LOG_LVL_WARN;
	return -1;
}

static void	log_vwrite(int, const char *, va_list, const char *)
		    __attribute__((format(printf, 2, 0)));

static void
log_vwrite(int level, const char *fmt, va_list ap, const char *err)
{
	static const char *tag[] = { "error", "warning", "info", "debug" };
	char	msg[1024];

	if (level > log_level)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (err != NULL)
		fprintf(stderr, "%s[%d]: %s: %s: %s\n", log_procname,
		    (int)getpid(), tag[level], msg, err);
	else
		fprintf(stderr, "%s[%d]: %s: %s\n", log_procname,
		    (int)getpid(), tag[level], msg);
}

void
log_warn(const char *fmt, ...)
{
	const char	*err = strerror(errno);
	va_list		 ap;

	va_start(ap, fmt);
	log_vwrite(LOG_LVL_WARN, fmt, ap, err);
	va_end(ap);
}

void
log_warnx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vwrite(LOG_LVL_WARN, fmt, ap, NULL);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vwrite(LOG_LVL_INFO, fmt, ap, NULL);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list	ap;

	if (log_level < LOG_LVL_DEBUG)
		return;
	va_start(ap, fmt);
	log_vwrite(LOG_LVL_DEBUG, fmt, ap, NULL);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	const char	*err = strerror(errno);
	va_list		 ap;

	va_start(ap, fmt);
	log_vwrite(LOG_LVL_ERR, fmt, ap, err);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vwrite(LOG_LVL_ERR, fmt, ap, NULL);
	va_end(ap);
	exit(1);
}
