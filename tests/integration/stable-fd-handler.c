/* SPDX-License-Identifier: MIT */
/*
 * stable-fd-handler: a test handler on libipmiclient. It serves netfn 0x30
 * cmd 0x05 (answering cc 0x00 and the byte 0x05) and reports on stdout,
 * one line each, the fd the library gave it at start and again at each
 * event, so test-restart.c can check that the fd survives a broker
 * restart: "start fd N", "registered fd N", and "event-connected fd N",
 * "event-disconnected fd N", "event-registered-again fd N" (the prefix
 * keeps one name from matching inside another). SIGTERM ends it with
 * status 0.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <ipmi/ipmiclient.h>

static volatile sig_atomic_t	stable_quit;

static void
stable_on_signal(int sig)
{
	stable_quit = 1;
}

static void
stable_request(struct ipmic *c, struct ipmic_request *req, void *arg)
{
	static const uint8_t	answer[] = { 0x05 };

	ipmic_reply(req, 0x00, answer, sizeof(answer));
}

static void
stable_event(struct ipmic *c, enum ipmic_event ev, const struct ipmic_key *k,
    void *arg)
{
	static const char *const names[] = {
		[IPMIC_EV_CONNECTED] = "connected",
		[IPMIC_EV_DISCONNECTED] = "disconnected",
		[IPMIC_EV_REGISTERED_AGAIN] = "registered-again",
		[IPMIC_EV_REGISTRATION_LOST] = "registration-lost",
	};

	if ((unsigned)ev < sizeof(names) / sizeof(names[0]) &&
	    names[ev] != NULL)
		printf("event-%s fd %d\n", names[ev], ipmic_fd(c));
}

int
main(void)
{
	struct ipmic_key	 key = { .netfn = 0x30, .cmd = 0x05 };
	struct ipmic_error	 err;
	struct sigaction	 sa;
	struct ipmic		*c;
	struct pollfd		 pfd;
	int			 r;

	setvbuf(stdout, NULL, _IOLBF, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = stable_on_signal;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGTERM, &sa, NULL) < 0)
		return 1;
	if ((c = ipmic_new("stable-fd")) == NULL)
		return 1;
	printf("start fd %d\n", ipmic_fd(c));
	ipmic_set_event(c, stable_event, NULL);
	if ((r = ipmic_connect(c, 5000)) < 0 ||
	    (r = ipmic_register(c, &key, 0, stable_request, NULL, &err)) !=
	    0) {
		fprintf(stderr, "stable-fd-handler: %s\n", ipmic_strerror(r));
		ipmic_free(c);
		return 1;
	}
	printf("registered fd %d\n", ipmic_fd(c));
	pfd.fd = ipmic_fd(c);
	pfd.events = POLLIN;
	while (!stable_quit) {
		if (poll(&pfd, 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (ipmic_dispatch(c) < 0)
			break;
	}
	ipmic_free(c);
	return stable_quit ? 0 : 1;
}
