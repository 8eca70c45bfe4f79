/* SPDX-License-Identifier: MIT */
/*
 * handler-log: the shipped handlers' one log format, to stderr (the
 * journal under systemd): "PROGRAM: LEVEL: message", debug lines only when
 * asked for with -v. Each handler wraps it in its own X_log() and hands
 * libipmiclient an X_log_lib() callback, so the library's lines read the
 * same.
 */
#ifndef HANDLER_LOG_H
#define HANDLER_LOG_H

#include <stdarg.h>
#include <stdio.h>

#include <ipmi/ipmiclient.h>

static inline void
handler_vlog(const char *prog, int verbose, int level, const char *fmt,
    va_list ap)
{
	static const char *const prefix[] = {
		[IPMIC_LOG_ERR] = "error: ",
		[IPMIC_LOG_WARN] = "warning: ",
		[IPMIC_LOG_INFO] = "",
		[IPMIC_LOG_DEBUG] = "debug: ",
	};

	if (level < IPMIC_LOG_ERR || level > IPMIC_LOG_DEBUG)
		level = IPMIC_LOG_INFO;
	if (level == IPMIC_LOG_DEBUG && !verbose)
		return;
	fprintf(stderr, "%s: %s", prog, prefix[level]);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

#endif /* HANDLER_LOG_H */
