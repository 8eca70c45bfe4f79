/* SPDX-License-Identifier: MIT */
/*
 * log: one line per event to stderr (the journal under systemd), prefixed
 * with the process name each process sets once at start.
 */
#ifndef LOG_H
#define LOG_H

#include <stdarg.h>

enum log_level { LOG_LVL_ERR, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

void	log_init(const char *procname, int level);
void	log_setname(const char *procname);
void	log_setlevel(int level);
int	log_getlevel(void);
/* Parse "error", "warning", "info", "debug"; -1 if unknown. */
int	log_level_parse(const char *s);

void	log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void	fatal(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));
void	fatalx(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));

#endif /* LOG_H */
