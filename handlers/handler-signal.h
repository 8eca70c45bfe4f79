/* SPDX-License-Identifier: MIT */
/*
 * handler-signal: how a shipped handler that waits in libipmiclient stops.
 * SIGTERM and SIGINT set its quit flag and interrupt the library's wait
 * (ipmic_stop()); they are installed without SA_RESTART, so a blocking
 * call returns as well. SIGPIPE is ignored. One handler program, one
 * flag: the state lives here, for the one file that includes this.
 */
#ifndef HANDLER_SIGNAL_H
#define HANDLER_SIGNAL_H

#include <signal.h>
#include <string.h>

#include <ipmi/ipmiclient.h>

static volatile sig_atomic_t	*handler_quit_flag;
static struct ipmic		**handler_quit_client;

static void
handler_on_signal(int sig)
{
	(void)sig;
	*handler_quit_flag = 1;
	if (*handler_quit_client != NULL)
		ipmic_stop(*handler_quit_client);
}

/* quit: set on a signal; client: where the program keeps its client
 * (NULL until connected). Returns 0, or -1 with errno from sigaction(). */
static inline int
handler_signals(volatile sig_atomic_t *quit, struct ipmic **client)
{
	struct sigaction	sa;

	handler_quit_flag = quit;
	handler_quit_client = client;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = handler_on_signal;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGTERM, &sa, NULL) == -1 ||
	    sigaction(SIGINT, &sa, NULL) == -1)
		return -1;
	sa.sa_handler = SIG_IGN;
	return sigaction(SIGPIPE, &sa, NULL);
}

#endif /* HANDLER_SIGNAL_H */
